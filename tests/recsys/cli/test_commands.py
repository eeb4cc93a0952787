"""The command line as a user drives it: each test checks what the user relies on in the outputs
(valid lists, exclusions honoured, metrics that agree with an independent count), not what the
outputs merely echo back from the arguments."""

import json
import os
import re
import shlex
import shutil

import numpy as np
import pandas as pd

from tests.helpers import ROOT, demo_table, make_image
from tests.helpers import read_jsonl, visrec


def read_ids_csv(path):
    return pd.read_csv(path, dtype={"user_id": str, "item_id": str})


# -- what a valid output looks like ---------------------------------------------------------------------------

def histories(demo) -> dict:
    """user id -> the set of items in the demo's interactions file."""
    inter = demo_table(demo, "interactions.csv")
    return {u: set(g) for u, g in inter.groupby("user_id")["item_id"]}


def catalog_ids(demo) -> set:
    return set(demo_table(demo, "catalog.csv")["item_id"])


def check_list(ids, scores, k, catalog, what):
    """k distinct catalog items, best first."""
    assert len(ids) == k, f"{what}: {len(ids)} items, asked for {k}"
    assert len(set(ids)) == k, f"{what}: repeated items {ids}"
    assert set(ids) <= catalog, f"{what}: items not in the catalog {set(ids) - catalog}"
    assert all(a >= b for a, b in zip(scores, scores[1:])), f"{what}: scores not in decreasing order {scores}"


def recs_by_user(rows) -> dict:
    """JSONL recommendation rows as user id -> ([item ids], [scores]); each user once."""
    out = {}
    for r in rows:
        assert r["user_id"] not in out, f"user {r['user_id']} listed twice"
        out[r["user_id"]] = ([x["item_id"] for x in r["items"]], [x["score"] for x in r["items"]])
    return out


def csv_recs_by_user(df) -> dict:
    """CSV recommendations (user_id, rank, item_id, score) as user id -> ([item ids], [scores])."""
    assert list(df.columns) == ["user_id", "rank", "item_id", "score"]
    out = {}
    for u, g in df.groupby("user_id", sort=False):
        assert g["rank"].tolist() == list(range(1, len(g) + 1)), f"{u}: ranks {g['rank'].tolist()}"
        out[u] = (g["item_id"].tolist(), g["score"].tolist())
    return out


def similar_by_item(rows, k, catalog) -> dict:
    """Similar-item rows checked (k distinct catalog items, never the item itself) as item id -> [ids]."""
    out = {}
    for r in rows:
        ids, scores = [x["item_id"] for x in r["similar"]], [x["score"] for x in r["similar"]]
        check_list(ids, scores, k, catalog, f"similar to {r['item_id']}")
        assert r["item_id"] not in ids, f"{r['item_id']} is listed as similar to itself"
        assert r["item_id"] not in out, f"item {r['item_id']} listed twice"
        out[r["item_id"]] = ids
    return out


def names_in(text: str, names) -> list:
    """The names that do not appear in ``text`` as whole names ('als' is not found inside 'als-visual')."""
    return [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)]


# -- model names ------------------------------------------------------------------------------------------------

def test_help_lists_every_model_and_unknown_models_are_refused(tmp_path, demo):
    from recsys.models.registry import model_names
    names = model_names()
    assert len(names) >= 10
    wide = dict(os.environ, COLUMNS="1000")  # argparse wraps help at hyphens otherwise ('recent-' / 'popularity')
    for command in ("train", "evaluate"):
        p = visrec(command, "--help", env=wide)
        assert not names_in(p.stdout, names), f"`visrec {command} --help` omits {names_in(p.stdout, names)}"
    cat, inter = demo.dir / "catalog.csv", demo.dir / "interactions.csv"
    for argv in (["train", "--catalog", cat, "--interactions", inter, "--model", "no-such-model",
                  "--out", tmp_path / "m"],
                 ["evaluate", "--dataset", "csv", "--catalog", cat, "--interactions", inter,
                  "--models", "popularity,no-such-model", "--out", tmp_path / "ev"]):
        p = visrec(*argv, check=False)
        assert p.returncode == 2, (argv[0], p.returncode, p.stderr[-2000:])
        assert "no-such-model" in p.stderr and "Traceback" not in p.stderr
        assert not names_in(p.stderr, names), f"{argv[0]}: the error omits {names_in(p.stderr, names)}: {p.stderr}"
    assert not (tmp_path / "m").exists()


# -- the demo ---------------------------------------------------------------------------------------------------

def test_demo_end_to_end(tmp_path, demo):
    out = tmp_path / "demo-out"
    run = visrec("demo", "--out", out, "--cache", demo.cache, process=True)  # the main job as a real process
    seen, catalog = histories(demo), catalog_ids(demo)
    cat = demo_table(demo, "catalog.csv")
    new = set(cat.loc[cat["new_arrival"].astype(int) == 1, "item_id"])

    # every shopper gets 10 distinct catalog items they do not have yet
    recs = recs_by_user(read_jsonl(out / "recommendations.jsonl"))
    assert set(recs) == set(seen)
    for u, (ids, scores) in recs.items():
        check_list(ids, scores, 10, catalog, u)
        assert not set(ids) & seen[u], f"{u} is recommended items they already have: {set(ids) & seen[u]}"
    # new arrivals (photo only, no interactions) reach shoppers' lists through the visual hybrid
    assert sum(i in new for ids, _ in recs.values() for i in ids) > 0

    # the saved model gives the same lists again
    visrec("recommend", "--model", out / "model", "--users", "all", "--k", 10, "--out", tmp_path / "again.jsonl")
    again = recs_by_user(read_jsonl(tmp_path / "again.jsonl"))
    assert {u: ids for u, (ids, _) in again.items()} == {u: ids for u, (ids, _) in recs.items()}

    # every catalog item has 10 visually similar others
    sims = similar_by_item(read_jsonl(out / "similar_items.jsonl"), 10, catalog)
    assert set(sims) == catalog

    # the offline evaluation: metrics in range, the models that use the data beat popularity, and the
    # visual models place new arrivals in the shoppers' planted favourite categories (chance is about 0.15)
    metrics = json.loads((out / "metrics.json").read_text())
    models = ["popularity", "als", "lightfm", "visual", "als-visual", "vbpr", "hybrid"]
    for name in models:
        for key, v in metrics[name].items():
            if "@" in key and not key.startswith("arp"):
                assert 0 <= v <= 1, (name, key, v)
        for m in ("precision@10", "recall@10", "ndcg@10", "map@10", "mrr@10"):
            assert metrics[name][m] <= metrics[name]["hitrate@10"] + 1e-12, (name, m)
    assert metrics["split"]["n_users_evaluated"] <= len(seen)
    assert metrics["hybrid"]["ndcg@10"] > metrics["popularity"]["ndcg@10"]
    assert metrics["hybrid"]["new_arrivals_preferred@10"] > 0.5
    assert metrics["popularity"]["new_arrivals_preferred@10"] < metrics["hybrid"]["new_arrivals_preferred@10"]
    assert metrics["visual"]["visual"] is True and metrics["als"]["visual"] is False

    # the A/B report of the hybrid against ALS scores the same lists as metrics.json
    ab = json.loads((out / "compare" / "metrics.json").read_text())
    assert ab["baseline"] == "als" and ab["models"] == ["als", "hybrid"]
    for name in ("als", "hybrid"):
        for m in ("recall@10", "ndcg@10", "precision@10"):
            assert abs(ab["means"][name][m] - metrics[name][m]) < 1e-9, (name, m)
    html = (out / "report.html").read_text()
    assert html.count("data:image/jpeg;base64,") >= 20  # thumbnails inlined ...
    assert not re.search(r"""(src|href)=["']https?://""", html)  # ... and nothing fetched from the network

    # the demo prints the exact command that serves its model; it starts and answers
    line = next(ln.strip() for ln in run.stdout.splitlines() if ln.strip().startswith("visrec serve "))
    from tests.recsys.serve.serving import Server
    server = Server(*shlex.split(line)[2:], env={"VISREC_READ_KEY": "", "VISREC_ADMIN_KEY": ""}, cwd=ROOT)
    try:
        server.wait_ready()
        import httpx
        r = httpx.get(f"{server.url}/v1/items/{sorted(catalog)[0]}/similar", params={"k": 5}).json()
        assert len(r["items"]) == 5 and r["items"][0]["title"] and r["model"].startswith("hybrid@")
        shop = httpx.get(f"{server.url}/demo")  # the demo shop page and its widget script
        assert shop.status_code == 200 and '<script src="/widget.js"' in shop.text
        assert sorted(catalog)[0] in shop.text and "<visrec-similar" in shop.text
        assert httpx.get(f"{server.url}/widget.js").headers["content-type"].startswith("text/javascript")
    finally:
        server.stop()


# -- similar items ----------------------------------------------------------------------------------------------

def test_similar_on_folder_without_interactions(tmp_path):
    imgs = tmp_path / "shop"
    (imgs / "sub").mkdir(parents=True)
    colours = [(220, 20, 20), (20, 200, 20), (20, 20, 220)]
    for i in range(9):
        make_image(imgs / "sub" / f"p{i}.jpg" if i % 2 else imgs / f"p{i}.png", colours[i % 3],
                   ["disc", "square", "stripes"][i % 3])
    shutil.copy(imgs / "p4.png", imgs / "sub" / "twin.png")  # the same photo under another name
    (imgs / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (imgs / "empty.png").write_bytes(b"")
    out = tmp_path / "sim.jsonl"
    p = visrec("similar", "--images-root", imgs, "--k", 3, "--out", out, "--cache", tmp_path / "cache")
    items = {f"p{i}" for i in range(9)} | {"twin"}
    by = similar_by_item(read_jsonl(out), 3, items)  # unreadable images are never anyone's neighbour
    assert set(by) == items
    assert by["p4"][0] == "twin" and by["twin"][0] == "p4"  # the identical photo first
    assert by["p0"][0] in {"p3", "p6"}  # same colour and shape
    assert "broken" in p.stderr and "empty" in p.stderr
    skipped = read_jsonl(str(out) + ".skipped.jsonl")
    assert {s["item_id"] for s in skipped} == {"broken", "empty"}


def kind_of(cat, item_id):
    return cat.loc[cat["item_id"] == item_id, "category"].iloc[0]


def test_similar_on_catalog_ranks_the_duplicate_photo_first(tmp_path, demo, demo_cli_cache):
    cat = demo_table(demo, "catalog.csv")
    twin = cat[cat["item_id"] == "fm0042"].assign(item_id="twin0042")
    catalog = tmp_path / "catalog.csv"
    pd.concat([cat, twin]).to_csv(catalog, index=False)
    out = tmp_path / "sim.jsonl"
    visrec("similar", "--catalog", catalog, "--images-root", demo.dir, "--k", 5, "--cache", demo_cli_cache,
           "--out", out)
    by = similar_by_item(read_jsonl(out), 5, set(cat["item_id"]) | {"twin0042"})
    assert len(by) == 1001
    assert by["fm0042"][0] == "twin0042" and by["twin0042"][0] == "fm0042"
    # gallery augmentation: the feeds hold more items of the item's own category, the twin still first
    visrec("similar", "--catalog", catalog, "--images-root", demo.dir, "--k", 5, "--cache", demo_cli_cache,
           "--gallery-augment", 5, "--out", tmp_path / "aug.jsonl")
    aug = similar_by_item(read_jsonl(tmp_path / "aug.jsonl"), 5, set(cat["item_id"]) | {"twin0042"})
    assert aug["fm0042"][0] == "twin0042" and aug != by
    kind = dict(zip(cat["item_id"], cat["category"])) | {"twin0042": kind_of(cat, "fm0042")}

    def same_kind(feed):
        return np.mean([kind[j] == kind[i] for i, js in feed.items() for j in js])
    assert same_kind(aug) > same_kind(by)


# -- train, recommend, similar with a model -----------------------------------------------------------------------

def test_train_then_recommend_gives_valid_unseen_lists(tmp_path, demo):
    seen, catalog = histories(demo), catalog_ids(demo)
    model = tmp_path / "model"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "als", "--param", "iterations=5", "--param", "progress=false", "--out", model)

    # all users, JSONL: each once, 10 distinct catalog items they do not have
    visrec("recommend", "--model", model, "--users", "all", "--k", 10, "--out", tmp_path / "all.jsonl")
    recs = recs_by_user(read_jsonl(tmp_path / "all.jsonl"))
    assert set(recs) == set(seen)
    for u, (ids, scores) in recs.items():
        check_list(ids, scores, 10, catalog, u)
        assert not set(ids) & seen[u], f"{u}: already has {set(ids) & seen[u]}"

    # users from a file, CSV, bfloat16 products: the same guarantees
    users = ["shopper000", "shopper001", "shopper002"]
    (tmp_path / "users.txt").write_text("\n".join(users) + "\n")
    visrec("recommend", "--model", model, "--users", f"@{tmp_path / 'users.txt'}", "--k", 7, "--precision",
           "bfloat16", "--out", tmp_path / "bf16.csv")
    bf16 = csv_recs_by_user(read_ids_csv(tmp_path / "bf16.csv"))
    assert list(bf16) == users
    for u, (ids, scores) in bf16.items():
        check_list(ids, scores, 7, catalog, u)
        assert not set(ids) & seen[u]

    # --include-seen lets the user's own items back in (ALS ranks them high)
    visrec("recommend", "--model", model, "--users", ",".join(users), "--k", 10, "--include-seen",
           "--out", tmp_path / "seen.csv")
    with_seen = csv_recs_by_user(read_ids_csv(tmp_path / "seen.csv"))
    assert list(with_seen) == users
    for u, (ids, scores) in with_seen.items():
        check_list(ids, scores, 10, catalog, u)
    assert any(set(ids) & seen[u] for u, (ids, _) in with_seen.items())

    # similar items from the model: every item listed, never with itself; ALS cannot place items without
    # interactions (README), so those have an empty list and every item with interactions has k neighbours
    visrec("similar", "--model", model, "--k", 4, "--out", tmp_path / "s.jsonl")
    rows = read_jsonl(tmp_path / "s.jsonl")
    assert sorted(r["item_id"] for r in rows) == sorted(catalog)
    warm = set().union(*seen.values())
    assert all(r["similar"] == [] for r in rows if r["item_id"] not in warm)
    assert set(similar_by_item([r for r in rows if r["item_id"] in warm], 4, catalog)) == warm
    # with gallery augmentation too (the model's own vectors, summed with their nearest)
    visrec("similar", "--model", model, "--k", 4, "--gallery-augment", 3, "--out", tmp_path / "a.jsonl")
    aug = read_jsonl(tmp_path / "a.jsonl")
    assert [r["item_id"] for r in aug] == [r["item_id"] for r in rows]
    assert all(r["similar"] == [] for r in aug if r["item_id"] not in warm)
    assert set(similar_by_item([r for r in aug if r["item_id"] in warm], 4, catalog)) == warm


def test_recommend_never_shows_excluded_pairs(tmp_path, demo):
    seen, catalog = histories(demo), catalog_ids(demo)
    model = tmp_path / "model"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "als", "--param", "iterations=5", "--param", "progress=false", "--out", model)
    users = "shopper000,shopper001"
    visrec("recommend", "--model", model, "--users", users, "--k", 5, "--out", tmp_path / "recs.csv")
    before = csv_recs_by_user(read_ids_csv(tmp_path / "recs.csv"))
    visrec("recommend", "--model", model, "--users", "shopper000", "--k", 10, "--include-seen",
           "--out", tmp_path / "recs-seen.csv")
    before_seen = csv_recs_by_user(read_ids_csv(tmp_path / "recs-seen.csv"))["shopper000"][0]
    # shopper000 returned their first two recommendations, and the item --include-seen would show first;
    # an unknown item id in the file removes nothing
    returned = before["shopper000"][0][:2] + [before_seen[0]]
    (tmp_path / "returns.csv").write_text("user_id,item_id\n" + "".join(f"shopper000,{i}\n" for i in returned)
                                          + "shopper000,no-such-item\n")
    visrec("recommend", "--model", model, "--users", users, "--k", 5, "--exclude", tmp_path / "returns.csv",
           "--out", tmp_path / "after.csv")
    after = csv_recs_by_user(read_ids_csv(tmp_path / "after.csv"))
    mine = after["shopper000"][0]
    check_list(mine, after["shopper000"][1], 5, catalog, "shopper000")
    assert not set(returned) & set(mine), f"excluded pairs came back: {set(returned) & set(mine)}"
    assert not set(mine) & seen["shopper000"]
    assert mine[:3] == before["shopper000"][0][2:]  # the rest moved up, in order
    assert after["shopper001"][0] == before["shopper001"][0]  # other users' lists are untouched
    # the exclusions also hold when seen items are allowed back
    visrec("recommend", "--model", model, "--users", "shopper000", "--k", 5, "--include-seen",
           "--exclude", tmp_path / "returns.csv", "--out", tmp_path / "after-seen.csv")
    mine = csv_recs_by_user(read_ids_csv(tmp_path / "after-seen.csv"))["shopper000"][0]
    assert mine == [i for i in before_seen if i not in returned][:5]


def test_bad_input_exits_with_status_2_naming_file_and_line(tmp_path, demo):
    cat = demo.dir / "catalog.csv"

    def fails(*argv):
        p = visrec(*argv, check=False)
        assert p.returncode == 2, (argv, p.returncode, p.stderr[-2000:])
        assert "Traceback" not in p.stderr, p.stderr
        return p.stderr

    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,weight\nu,fm0001,1\nu,fm0002,lots\n")
    err = fails("train", "--catalog", cat, "--interactions", bad, "--model", "popularity", "--out", tmp_path / "m")
    assert re.search(r"bad\.csv\b.*\bline 3\b.*weight", err), err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("user_id,item_id\nu,fm0001\nu,fm9999\n")
    err = fails("train", "--catalog", cat, "--interactions", unknown, "--model", "popularity", "--out", tmp_path / "m")
    assert re.search(r"unknown\.csv\b.*\bline 3\b", err) and "fm9999" in err, err
    badcat = tmp_path / "badcat.csv"
    badcat.write_text("item_id,image\nfm0001,images/fm0001.png\n,images/fm0002.png\n")
    err = fails("train", "--catalog", badcat, "--images-root", demo.dir, "--interactions",
                demo.dir / "interactions.csv", "--model", "popularity", "--out", tmp_path / "m")
    assert re.search(r"badcat\.csv\b.*\bline 3\b.*item_id", err), err
    assert not (tmp_path / "m").exists()  # nothing half-written

    model = tmp_path / "pop"
    visrec("train", "--catalog", cat, "--interactions", demo.dir / "interactions.csv", "--model", "popularity",
           "--out", model)
    badex = tmp_path / "returns.csv"
    badex.write_text("user_id,item_id\nshopper000,fm0001\nshopper000\n")
    err = fails("recommend", "--model", model, "--users", "shopper000", "--exclude", badex, "--out", tmp_path / "r.csv")
    assert re.search(r"returns\.csv\b.*\bline 3\b", err), err
    err = fails("recommend", "--model", model, "--users", "shopper000,ghost-user", "--out", tmp_path / "r.csv")
    assert "ghost-user" in err
    assert not (tmp_path / "r.csv").exists()
    err = fails("recommend", "--model", tmp_path / "nothing", "--out", tmp_path / "r.jsonl")
    assert "not a saved visrec model" in err


def test_unknown_hyper_parameter_is_a_clear_error(tmp_path, demo):
    p = visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
               "--model", "popularity", "--param", "no_such_param=3", "--out", tmp_path / "m", check=False)
    assert p.returncode == 2 and "no_such_param" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]


# -- search by photo --------------------------------------------------------------------------------------------

def test_search_by_photo_stores_nothing(tmp_path, demo, demo_cli_cache):
    from PIL import Image
    model = tmp_path / "model"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "visual", "--cache", demo_cli_cache, "--out", model)
    # a shopper's photo of a catalog sneaker: rotated by EXIF, RGBA PNG, 16-bit greyscale
    src = Image.open(demo.dir / "images" / "fm0700.png").resize((300, 300))
    home = tmp_path / "home"
    photos = home / "photos"
    photos.mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 3  # upside down
    src.rotate(180).convert("RGB").save(photos / "upload.jpg", exif=exif.tobytes())
    src.rotate(180).convert("RGB").save(photos / "upside-down.jpg")  # the same pixels without the EXIF tag
    src.convert("RGBA").save(photos / "upload.png")
    Image.fromarray((np.asarray(src, dtype=np.uint16) * 257)).save(photos / "upload16.png")
    queries = ["upload.jpg", "upside-down.jpg", "upload.png", "upload16.png"]
    before = sorted(tmp_path.rglob("*"))
    env_home = dict(os.environ, HOME=str(home), VISREC_CACHE=str(home / "cache"))
    p = visrec("search", "--model", model, "--k", 5, *[a for q in queries for a in ("--image", photos / q)],
               env=env_home)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["query"] for r in rows] == queries
    top = {r["query"]: r["similar"][0] for r in rows}
    catalog = catalog_ids(demo)
    for r in rows:
        ids = [x["item_id"] for x in r["similar"]]
        check_list(ids, [x["score"] for x in r["similar"]], 5, catalog, r["query"])
    for q in ("upload.jpg", "upload.png", "upload16.png"):
        assert top[q]["item_id"] == "fm0700", (q, rows)
    # the EXIF orientation is applied: the tagged photo matches better than the same pixels untagged
    assert top["upload.jpg"]["score"] > top["upside-down.jpg"]["score"]
    assert sorted(tmp_path.rglob("*")) == before  # nothing written anywhere

    (photos / "fake.jpg").write_bytes(b"GIF89a not really")
    p = visrec("search", "--model", model, "--image", photos / "fake.jpg", check=False, env=env_home)
    assert p.returncode == 2 and "fake.jpg: not an image" in p.stderr and "Traceback" not in p.stderr
    pop = tmp_path / "pop"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "popularity", "--out", pop)
    p = visrec("search", "--model", pop, "--image", photos / "upload.png", check=False)
    assert p.returncode == 2 and "does not use images" in p.stderr


def test_embedder_choices_for_similar_and_search(tmp_path, demo, demo_cli_cache):
    cat = demo.dir / "catalog.csv"
    catalog = catalog_ids(demo)
    head = tmp_path / "head.safetensors"
    visrec("adapt", "--catalog", cat, "--label-column", "category", "--cache", demo_cli_cache,
           "--param", "epochs=3", "--param", "progress=false", "--out", head)
    assert head.exists() and (tmp_path / "head.safetensors.json").exists()
    out = {}
    kinds = (("raw", []), ("adapted", ["--head", head]), ("fused", ["--text-model", "tfidf"]))
    for kind, extra in kinds:
        f = tmp_path / f"sim-{kind}.jsonl"
        visrec("similar", "--catalog", cat, "--embedder", kind, *extra, "--k", 5, "--cache", demo_cli_cache,
               "--out", f)
        out[kind] = read_jsonl(f)
        assert set(similar_by_item(out[kind], 5, catalog)) == catalog
    categories = dict(zip(demo.catalog.df["item_id"], demo.catalog.df["category"]))

    def precision(rows):
        hits = sum(categories[x["item_id"]] == categories[r["item_id"]] for r in rows for x in r["similar"])
        return hits / (5 * len(rows))
    assert precision(out["adapted"]) > precision(out["raw"])  # trained on these very labels
    assert precision(out["fused"]) > precision(out["raw"])  # titles name the category
    # searching by a catalog photo finds that item first, whatever the vectors
    photo = demo.dir / "images" / "fm0042.png"
    for kind, extra in kinds:
        p = visrec("search", "--catalog", cat, "--embedder", kind, *extra, "--image", photo, "--k", 3,
                   "--cache", demo_cli_cache)
        top = json.loads(p.stdout)["similar"][0]["item_id"]
        assert top == "fm0042", (kind, p.stdout)
    # without --head, the head shipped for EfficientNet-Lite0 (pad, 224) is used ...
    visrec("similar", "--catalog", cat, "--embedder", "adapted", "--k", 3, "--cache", demo_cli_cache,
           "--out", tmp_path / "shipped.jsonl")
    assert set(similar_by_item(read_jsonl(tmp_path / "shipped.jsonl"), 3, catalog)) == catalog
    # ... and other settings have none: a clear error (a few images suffice to show it)
    few = tmp_path / "few"
    few.mkdir()
    for i in ("fm0001", "fm0002", "fm0003"):
        shutil.copy(demo.dir / "images" / f"{i}.png", few)
    p = visrec("similar", "--images-root", few, "--embedder", "adapted", "--preprocess", "center_crop",
               "--cache", tmp_path / "cc", "--out", tmp_path / "x.jsonl", check=False)
    assert p.returncode == 2 and "visrec adapt" in p.stderr and "Traceback" not in p.stderr


def test_embed_writes_vectors_with_item_ids(tmp_path, demo, demo_cli_cache):
    from features import ItemFeatures
    out = tmp_path / "emb.npz"
    visrec("embed", "--catalog", demo.dir / "catalog.csv", "--cache", demo_cli_cache, "--out", out)
    with np.load(out, allow_pickle=False) as z:
        assert z["item_ids"].tolist() == demo_table(demo, "catalog.csv")["item_id"].tolist()
        assert z["vectors"].shape == (1000, 1280)
    np.testing.assert_allclose(ItemFeatures.load(out).vectors, demo.features.vectors, atol=1e-6)


# -- evaluation -------------------------------------------------------------------------------------------------

def recomputed(lists: dict, test: pd.DataFrame, k: int) -> dict:
    """recall@k and precision@k from lists (user -> item ids) and a test table, counted here: per test user,
    hits among the first k over |test items| (recall) and over k (precision); a missing list scores 0."""
    rel = {u: set(g) for u, g in test.groupby("user_id")["item_id"]}
    hits = {u: len(set(lists.get(u, [])[:k]) & r) for u, r in rel.items()}
    return {f"recall@{k}": float(np.mean([hits[u] / len(r) for u, r in rel.items()])),
            f"precision@{k}": float(np.mean([hits[u] / k for u in rel])), "users": len(rel)}


def test_compare_two_models_lists_from_the_cli(tmp_path, demo, demo_cli_cache):
    """The user's A/B flow: split, train two models, write their lists, `visrec compare`; the report's
    metrics are those counted here from the list files and the test file."""
    from evaluation import random_split
    split = random_split(demo.interactions, 0.2, random_state=0)
    cols = ["user_id", "item_id", "timestamp", "weight"]
    split.train.df[cols].to_csv(tmp_path / "train.csv", index=False)
    split.test.df[cols].to_csv(tmp_path / "test.csv", index=False)
    test = read_ids_csv(tmp_path / "test.csv")
    cat = ["--catalog", demo.dir / "catalog.csv", "--cache", demo_cli_cache]
    lists = {}
    for name in ("popularity", "als"):
        visrec("train", *cat, "--interactions", tmp_path / "train.csv", "--model", name, "--out", tmp_path / name)
        visrec("recommend", "--model", tmp_path / name, "--users", "all", "--k", 20,
               "--out", tmp_path / f"{name}.jsonl")
        lists[name] = {u: ids for u, (ids, _) in recs_by_user(read_jsonl(tmp_path / f"{name}.jsonl")).items()}
    out = tmp_path / "ab"
    visrec("compare", "--a", tmp_path / "popularity.jsonl", "--b", tmp_path / "als.jsonl", "--test",
           tmp_path / "test.csv", "--train", tmp_path / "train.csv", "--catalog", demo.dir / "catalog.csv",
           "--n-boot", 300, "--out", out)
    m = json.loads((out / "metrics.json").read_text())
    assert m["baseline"] == "popularity" and m["models"] == ["popularity", "als"]
    assert m["test"]["n_test_users"] == test["user_id"].nunique()
    assert m["test"]["n_test_interactions"] == len(test[["user_id", "item_id"]].drop_duplicates())
    for name in ("popularity", "als"):
        mine = recomputed(lists[name], test, 10)
        for metric in ("recall@10", "precision@10"):
            assert abs(m["means"][name][metric] - mine[metric]) < 1e-9, (name, metric, m["means"][name][metric], mine)
    assert m["means"]["als"]["recall@10"] > m["means"]["popularity"]["recall@10"]
    assert f"{m['means']['als']['recall@10']:.4f}" in (out / "summary.md").read_text()  # the CI log says the same
    assert (out / "report.html").stat().st_size > 10_000


def test_evaluate_temporal_protocol_with_ab_report(tmp_path, demo, demo_cli_cache):
    """`visrec evaluate --protocol temporal`: the split is the last N days, past items may come back, and
    popularity's metrics are those counted here from the interactions file."""
    inter = demo_table(demo, "interactions.csv")
    days = 20
    cut = int(inter["timestamp"].max() - days * 86400) + 1  # the last 20 days, to the second
    train, test = inter[inter["timestamp"] < cut], inter[inter["timestamp"] >= cut]
    # popularity = distinct training users per item; a list length where no tie straddles the cut-off
    counts = train.groupby("item_id")["user_id"].nunique().sort_values(ascending=False, kind="stable")
    k = next(k for k in range(10, 3, -1) if counts.iloc[k - 1] > counts.iloc[k])
    top = counts.index[:k].tolist()
    out = tmp_path / "ev"
    visrec("evaluate", "--dataset", "csv", "--catalog", demo.dir / "catalog.csv", "--interactions",
           demo.dir / "interactions.csv", "--cache", demo_cli_cache, "--protocol", "temporal", "--test-days", days,
           "--k", k, "--models", "popularity,repurchase,hybrid", "--compare", "popularity,hybrid", "--out", out)
    m = json.loads((out / "metrics.json").read_text())
    names = ("popularity", "repurchase", "hybrid")
    assert m["split"]["n_train"] == len(train) and m["split"]["n_test"] == len(test)
    assert m["split"]["n_users_evaluated"] == test["user_id"].nunique()
    assert m["split"]["exclude_seen"] is False  # repurchases count in a time split
    assert m["split"]["model_settings"]["hybrid"]["validation"] == "temporal"
    assert m["repurchase"]["visual"] is False and m["hybrid"]["visual"] is True
    for name in names:
        for metric in ("precision", "recall", "ndcg", "map", "mrr"):
            assert 0 <= m[name][f"{metric}@{k}"] <= m[name][f"hitrate@{k}"] <= 1, (name, metric)
    # every test user gets the same best-seller list from popularity (seen items allowed)
    mine = recomputed({u: top for u in test["user_id"].unique()}, test, k)
    for metric in (f"recall@{k}", f"precision@{k}"):
        assert abs(m["popularity"][metric] - mine[metric]) < 1e-9, (metric, m["popularity"][metric], mine)
    # the A/B report compares the very lists that metrics.json scored
    ab = json.loads((out / "compare" / "metrics.json").read_text())
    assert ab["baseline"] == "popularity" and ab["models"] == ["popularity", "hybrid"]
    for name in ("popularity", "hybrid"):
        assert abs(ab["means"][name][f"recall@{k}"] - m[name][f"recall@{k}"]) < 1e-9
    bad = visrec("evaluate", "--dataset", "csv", "--catalog", demo.dir / "catalog.csv", "--interactions",
                 demo.dir / "interactions.csv", "--models", "als", "--compare", "als,ghost", "--out", out, check=False)
    assert bad.returncode != 0 and "--compare" in bad.stderr and "ghost" in bad.stderr
