"""``visrec align`` then ``visrec search --text``: words find the photos of the named kind, one JSONL line
per query in the order given, over a catalog or a saved model; a search with no query is a usage error."""

import json

import pandas as pd

from tests.helpers import demo_table, visrec


def test_align_then_search_by_words_over_a_catalog_and_a_model(tmp_path, demo, demo_cli_cache):
    head = tmp_path / "text.safetensors"
    p = visrec("align", "--catalog", demo.dir / "catalog.csv", "--images-root", demo.dir, "--cache", demo_cli_cache,
               "--text-columns", "category", "--param", "text_model=tfidf", "--param", "epochs=30",
               "--param", "hidden=128", "--out", head)
    assert "trained on 1000 text/photo pairs" in p.stdout
    meta = json.loads((tmp_path / "text.safetensors.json").read_text())
    assert meta["text_model"] == "tfidf" and meta["image"]["backbone"] == "efficientnet_lite0"
    kind = dict(demo_table(demo, "catalog.csv")[["item_id", "category"]].itertuples(index=False))
    queries = ["ankle boot", "trouser", "bag"]
    args = [a for q in queries for a in ("--text", q)]
    p = visrec("search", "--catalog", demo.dir / "catalog.csv", "--images-root", demo.dir, "--cache", demo_cli_cache,
               "--text-head", head, "--k", 10, *args)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["query"] for r in rows] == queries
    for q, r in zip(["Ankle boot", "Trouser", "Bag"], rows):
        assert len(r["similar"]) == 10
        assert sum(kind[e["item_id"]] == q for e in r["similar"]) >= 8, (q, r)

    model = tmp_path / "model"
    visrec("train", "--catalog", demo.dir / "catalog.csv", "--interactions", demo.dir / "interactions.csv",
           "--model", "visual", "--cache", demo_cli_cache, "--out", model)
    out = tmp_path / "found.jsonl"
    visrec("search", "--model", model, "--text-head", head, "--text", "sneaker", "--k", 5, "--out", out)
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["query"] == "sneaker" and sum(kind[e["item_id"]] == "Sneaker" for e in row["similar"]) >= 4


def test_search_needs_a_query_and_align_a_text_column(tmp_path, demo, demo_cli_cache):
    p = visrec("search", "--catalog", demo.dir / "catalog.csv", "--images-root", demo.dir, check=False)
    assert p.returncode == 2 and "give --image PHOTO and/or --text WORDS" in p.stderr
    pd.DataFrame({"item_id": ["a"], "image": ["images/fm0000.png"]}).to_csv(tmp_path / "c.csv", index=False)
    p = visrec("align", "--catalog", tmp_path / "c.csv", "--images-root", demo.dir, "--cache", demo_cli_cache,
               "--out", tmp_path / "t.safetensors", check=False)
    assert p.returncode == 2 and "catalog has no column(s) ['title', 'category', 'description']" in p.stderr
