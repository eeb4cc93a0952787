import json
import os
import subprocess
import sys
from pathlib import Path


from conftest import ROOT, make_image


def visrec(*args, check=True):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "recsys.cli", *map(str, args)], capture_output=True, text=True,
                       env=env, cwd=ROOT)
    if check and p.returncode != 0:
        raise AssertionError(f"visrec {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_demo_end_to_end(tmp_path, demo):
    out = tmp_path / "demo-out"
    visrec("demo", "--out", out, "--cache", demo.cache)
    recs = read_jsonl(out / "recommendations.jsonl")
    assert len(recs) == 300 and all(len(r["items"]) == 10 for r in recs)
    assert set(recs[0]) == {"user_id", "items"} and set(recs[0]["items"][0]) == {"item_id", "score"}
    sims = read_jsonl(out / "similar_items.jsonl")
    assert len(sims) == 1000 and all(len(s["similar"]) == 10 for s in sims)
    assert all(s["item_id"] not in {x["item_id"] for x in s["similar"]} for s in sims)
    html = (out / "report.html").read_text()
    assert "<table>" in html and html.count("data:image/jpeg;base64,") >= 20
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"popularity", "als", "lightfm", "visual", "als-visual", "vbpr", "hybrid"} <= set(metrics)
    assert (out / "compare" / "report.html").exists() and "hybrid" in (out / "compare" / "summary.md").read_text()
    # new arrivals (no interactions) reach shoppers' lists through the visual hybrid
    new = set(demo.catalog.df.loc[demo.catalog.df["new_arrival"].astype(int) == 1, "item_id"])
    assert sum(x["item_id"] in new for r in recs for x in r["items"]) > 0


def test_similar_on_folder_without_interactions(tmp_path, demo):
    imgs = tmp_path / "shop"
    (imgs / "sub").mkdir(parents=True)
    colours = [(220, 20, 20), (20, 200, 20), (20, 20, 220)]
    for i in range(9):
        make_image(imgs / "sub" / f"p{i}.jpg" if i % 2 else imgs / f"p{i}.png", colours[i % 3],
                   ["disc", "square", "stripes"][i % 3])
    (imgs / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (imgs / "empty.png").write_bytes(b"")
    out = tmp_path / "sim.jsonl"
    p = visrec("similar", "--images-root", imgs, "--k", 3, "--out", out, "--cache", tmp_path / "cache")
    rows = read_jsonl(out)
    assert sorted(r["item_id"] for r in rows) == [f"p{i}" for i in range(9)]
    assert all(len(r["similar"]) == 3 for r in rows)
    by = {r["item_id"]: [x["item_id"] for x in r["similar"]] for r in rows}
    assert by["p0"][0] in {"p3", "p6"}  # same colour and shape
    assert "broken" in p.stderr and "empty" in p.stderr
    skipped = read_jsonl(str(out) + ".skipped.jsonl")
    assert {s["item_id"] for s in skipped} == {"broken", "empty"}


def test_train_recommend_similar_with_model(tmp_path, demo):
    model = tmp_path / "model"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "als", "--param", "iterations=5", "--param", "progress=false", "--out", model)
    assert (model / "model.json").exists()
    out = tmp_path / "recs.csv"
    visrec("recommend", "--model", model, "--users", "shopper000,shopper001", "--k", 5, "--precision", "bfloat16",
           "--out", out)
    import pandas as pd
    df = pd.read_csv(out)
    assert len(df) == 10 and list(df.columns) == ["user_id", "rank", "item_id", "score"]
    # the user returned their first two recommendations: they never come back (plus an unknown id)
    returned = df[df.user_id == "shopper000"].item_id.head(2).tolist()
    (tmp_path / "returns.csv").write_text("user_id,item_id\n" + "".join(f"shopper000,{i}\n" for i in returned)
                                          + "shopper000,no-such-item\n")
    r = visrec("recommend", "--model", model, "--users", "shopper000,shopper001", "--k", 5, "--exclude",
               tmp_path / "returns.csv", "--out", tmp_path / "recs2.csv")
    df2 = pd.read_csv(tmp_path / "recs2.csv")
    mine = df2[df2.user_id == "shopper000"].item_id.tolist()
    assert len(mine) == 5 and not set(returned) & set(mine)
    assert mine[:3] == df[df.user_id == "shopper000"].item_id.tolist()[2:]  # the rest moved up
    assert df2[df2.user_id == "shopper001"].item_id.tolist() == df[df.user_id == "shopper001"].item_id.tolist()
    assert "excluding 2 user-item pairs" in r.stderr and "1 name users or items unknown" in r.stderr
    visrec("similar", "--model", model, "--k", 4, "--out", tmp_path / "s.jsonl")
    assert len(read_jsonl(tmp_path / "s.jsonl")) == 1000


def test_cli_errors_are_clear(tmp_path, demo):
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,weight\nu,fm0001,1\nu,fm0002,lots\n")
    p = visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", bad, "--model", "popularity",
               "--out", tmp_path / "m", check=False)
    assert p.returncode == 2 and "bad.csv: line 3: column 'weight'" in p.stderr and "Traceback" not in p.stderr
    p = visrec("recommend", "--model", tmp_path / "nothing", "--out", tmp_path / "r.jsonl", check=False)
    assert p.returncode == 2 and "not a saved visrec model" in p.stderr


def test_search_by_photo_stores_nothing(tmp_path, demo):
    import numpy as np
    from PIL import Image
    model = tmp_path / "model"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "visual", "--cache", demo.cache, "--out", model)
    # a shopper's photo of a catalog sneaker: rotated by EXIF, RGBA PNG, 16-bit greyscale
    src = Image.open(demo.dir / "images" / "fm0700.png").resize((300, 300))
    home = tmp_path / "home"
    home.mkdir()
    photos = home / "photos"
    photos.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 3  # upside down
    src.rotate(180).convert("RGB").save(photos / "upload.jpg", exif=exif.tobytes())
    src.convert("RGBA").save(photos / "upload.png")
    Image.fromarray((np.asarray(src, dtype=np.uint16) * 257)).save(photos / "upload16.png")
    before = sorted(p for p in tmp_path.rglob("*"))
    env_home = dict(os.environ, HOME=str(home), VISREC_CACHE=str(home / "cache"), PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "recsys.cli", "search", "--model", str(model), "--k", "5",
                        "--image", str(photos / "upload.jpg"), "--image", str(photos / "upload.png"),
                        "--image", str(photos / "upload16.png")], capture_output=True, text=True, env=env_home, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    cat = dict(zip(demo.catalog.df["item_id"], demo.catalog.df["category"]))
    for r in rows:
        assert r["similar"][0]["item_id"] == "fm0700" or cat[r["similar"][0]["item_id"]] == cat["fm0700"], r
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written anywhere
    (photos / "fake.jpg").write_bytes(b"GIF89a not really")
    p = subprocess.run([sys.executable, "-m", "recsys.cli", "search", "--model", str(model),
                        "--image", str(photos / "fake.jpg")], capture_output=True, text=True, env=env_home, cwd=ROOT)
    assert p.returncode == 2 and "image 0" in p.stderr and "Traceback" not in p.stderr
    p = visrec("search", "--model", model, "--image", photos / "upload.png", check=False)
    assert p.returncode == 0
    als = tmp_path / "als"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "popularity", "--out", als)
    p = visrec("search", "--model", als, "--image", photos / "upload.png", check=False)
    assert p.returncode == 2 and "does not use images" in p.stderr


def test_embedder_choices_for_similar_and_search(tmp_path, demo):
    cat = demo.dir / "catalog.csv"
    head = tmp_path / "head.safetensors"
    visrec("adapt", "--catalog", cat, "--label-column", "category", "--cache", demo.cache,
           "--param", "epochs=3", "--param", "progress=false", "--out", head)
    assert head.exists() and (tmp_path / "head.safetensors.json").exists()
    out = {}
    for kind, extra in (("raw", []), ("adapted", ["--head", head]), ("fused", ["--text-model", "tfidf"])):
        f = tmp_path / f"sim-{kind}.jsonl"
        visrec("similar", "--catalog", cat, "--embedder", kind, *extra, "--k", 5, "--cache", demo.cache, "--out", f)
        out[kind] = read_jsonl(f)
        assert len(out[kind]) == 1000
    categories = dict(zip(demo.catalog.df["item_id"], demo.catalog.df["category"]))

    def precision(rows):
        return sum(categories[x["item_id"]] == categories[r["item_id"]] for r in rows for x in r["similar"]) / (5 * len(rows))
    assert precision(out["adapted"]) > precision(out["raw"])  # trained on these very labels
    assert precision(out["fused"]) > precision(out["raw"])  # titles name the category
    photo = demo.dir / "images" / "fm0042.png"
    for kind, extra in (("raw", []), ("adapted", ["--head", head]), ("fused", ["--text-model", "tfidf"])):
        p = visrec("search", "--catalog", cat, "--embedder", kind, *extra, "--image", photo, "--k", 3,
                   "--cache", demo.cache)
        top = json.loads(p.stdout)["similar"][0]["item_id"]
        assert top == "fm0042", (kind, p.stdout)
    # without --head, the head shipped for EfficientNet-Lite0 (pad, 224) is used ...
    visrec("similar", "--catalog", cat, "--embedder", "adapted", "--k", 3, "--cache", demo.cache,
           "--out", tmp_path / "shipped.jsonl")
    assert len(read_jsonl(tmp_path / "shipped.jsonl")) == 1000
    # ... and other settings have none: a clear error
    p = visrec("similar", "--images-root", demo.dir / "images", "--embedder", "adapted", "--preprocess", "center_crop",
               "--cache", tmp_path / "cc", "--out", tmp_path / "x.jsonl", check=False)
    assert p.returncode == 2 and "visrec adapt" in p.stderr


def test_embed_writes_vectors_with_item_ids(tmp_path, demo):
    import numpy as np
    from features import ItemFeatures
    out = tmp_path / "emb.npz"
    visrec("embed", "--catalog", demo.dir / "catalog.csv", "--cache", demo.cache, "--out", out)
    with np.load(out, allow_pickle=False) as z:
        assert z["item_ids"].tolist() == demo.catalog.item_ids.tolist() and z["vectors"].shape == (1000, 1280)
    np.testing.assert_allclose(ItemFeatures.load(out).vectors, demo.features.vectors, atol=1e-6)


def test_compare_two_models_lists_from_the_cli(tmp_path, demo):
    """The user's A/B flow: split, train two models, write their lists, `visrec compare`."""
    import pandas as pd
    from evaluation import random_split
    split = random_split(demo.interactions, 0.2, seed=0)
    cols = ["user_id", "item_id", "timestamp", "weight"]
    split.train.df[cols].to_csv(tmp_path / "train.csv", index=False)
    split.test.df[cols].to_csv(tmp_path / "test.csv", index=False)
    cat = ["--catalog", demo.dir / "catalog.csv", "--cache", demo.cache]
    for name in ("popularity", "als"):
        visrec("train", *cat, "--interactions", tmp_path / "train.csv", "--model", name, "--out", tmp_path / name)
        visrec("recommend", "--model", tmp_path / name, "--users", "all", "--k", 20, "--out", tmp_path / f"{name}.jsonl")
    out = tmp_path / "ab"
    visrec("compare", "--a", tmp_path / "popularity.jsonl", "--b", tmp_path / "als.jsonl", "--test", tmp_path / "test.csv",
           "--train", tmp_path / "train.csv", "--catalog", demo.dir / "catalog.csv", "--n-boot", 300, "--out", out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "report.html").stat().st_size > 10_000 and "ndcg@10" in (out / "summary.md").read_text()
    assert "als" in json.dumps(metrics) and "popularity" in json.dumps(metrics)
    assert len(pd.read_csv(tmp_path / "test.csv")) > 0


def test_evaluate_temporal_protocol_with_ab_report(tmp_path, demo):
    """`visrec evaluate --protocol temporal`: metrics.json with the visual flag and split, past
    items allowed back in the lists, and the A/B report of two models."""
    out = tmp_path / "ev"
    visrec("evaluate", "--dataset", "csv", "--catalog", demo.dir / "catalog.csv", "--interactions",
           demo.dir / "interactions.csv", "--cache", demo.cache, "--protocol", "temporal", "--test-days", 20,
           "--models", "repurchase,als,hybrid", "--param", "als.iterations=5", "--compare", "als,hybrid", "--out", out)
    m = json.loads((out / "metrics.json").read_text())
    assert m["repurchase"]["visual"] is False and m["hybrid"]["visual"] is True
    assert m["split"]["protocol"] == "temporal" and m["split"]["exclude_seen"] is False
    assert m["split"]["model_settings"]["hybrid"]["validation"] == "temporal"
    assert all(0 <= m[n]["ndcg@10"] <= 1 for n in ("repurchase", "als", "hybrid"))
    assert (out / "compare" / "report.html").exists() and (out / "compare" / "summary.md").exists()
    bad = visrec("evaluate", "--dataset", "csv", "--catalog", demo.dir / "catalog.csv", "--interactions",
                 demo.dir / "interactions.csv", "--models", "als", "--compare", "als,ghost", "--out", out, check=False)
    assert bad.returncode != 0 and "--compare" in bad.stderr
