"""One data option on every command: ``--dataset demo|movielens-1m|hm|csv --data-dir`` reads the same
layouts on train, embed, similar, search, recommend, adapt, align and evaluate (tiny layouts written here)."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.helpers import make_image, read_jsonl, visrec

READERS = ("train", "embed", "similar", "search", "recommend", "adapt", "align", "evaluate")


def choices(command: str, option: str):
    from recsys.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return next(a for a in sub._actions if option in a.option_strings).choices


def test_every_reader_has_the_same_dataset_choices():
    assert {c: tuple(choices(c, "--dataset")) for c in READERS} == \
        {c: ("demo", "movielens-1m", "hm", "csv") for c in READERS}


@pytest.fixture(scope="module")
def hm_dir(tmp_path_factory):
    """The Kaggle H&M layout: 3 products in 2 colours each; 4 customers."""
    d = tmp_path_factory.mktemp("hm")
    colours = {"01": (200, 30, 30), "02": (30, 30, 200)}
    arts = []
    for p, shape in zip(("0108775", "0111565", "0176209"), ("square", "circle", "stripes")):
        for v, c in colours.items():
            a = f"{p}0{v}"
            arts.append({"article_id": a, "prod_name": f"Item {p}", "product_type_name": shape,
                         "detail_desc": f"a {shape} thing"})
            (d / "images" / a[:3]).mkdir(parents=True, exist_ok=True)
            make_image(d / "images" / a[:3] / f"{a}.jpg", c, shape)
    pd.DataFrame(arts).to_csv(d / "articles.csv", index=False)
    tx = [("2020-09-01", "c1", "0108775001"), ("2020-09-02", "c1", "0111565001"), ("2020-09-02", "c2", "0108775001"),
          ("2020-09-03", "c2", "0111565001"), ("2020-09-03", "c2", "0176209001"), ("2020-09-04", "c3", "0108775001"),
          ("2020-09-04", "c4", "0176209002"), ("2020-09-05", "c3", "0176209001")]
    pd.DataFrame(tx, columns=["t_dat", "customer_id", "article_id"]).to_csv(d / "transactions_train.csv", index=False)
    return d


@pytest.fixture(scope="module")
def ml_dir(tmp_path_factory):
    """The GroupLens MovieLens-1M layout with posters/<MovieID>.jpg."""
    d = tmp_path_factory.mktemp("ml")
    (d / "movies.dat").write_text("1::Toy Story (1995)::Animation|Comedy\n2::Heat (1995)::Action\n"
                                  "3::Up (2009)::Animation\n", encoding="latin-1")
    (d / "ratings.dat").write_text("1::1::5::978300760\n1::2::2::978300761\n2::1::4::978300762\n"
                                   "2::3::5::978300763\n3::2::3::978300764\n")
    (d / "posters").mkdir()
    for m, c in ((1, (250, 200, 0)), (2, (20, 20, 20)), (3, (240, 190, 10))):
        make_image(d / "posters" / f"{m}.jpg", c)
    return d


def test_hm_layout_on_every_command(hm_dir, tmp_path):
    cache = ["--cache", tmp_path / "cache"]
    src = ["--dataset", "hm", "--data-dir", hm_dir]
    vec = tmp_path / "v.npz"
    p = visrec("embed", *src, *cache, "--out", vec)
    assert "embedded 6/6 items" in p.stdout
    with np.load(vec, allow_pickle=False) as z:
        assert sorted(z["item_ids"].tolist())[0] == "0108775001" and z["present"].all()
    sim = tmp_path / "sim.jsonl"
    visrec("similar", *src, *cache, "--k", 1, "--out", sim)
    nn = {r["item_id"]: r["similar"][0]["item_id"] for r in read_jsonl(sim)}
    assert len(nn) == 6 and all(a != b for a, b in nn.items())
    model = tmp_path / "m"
    visrec("train", *src, *cache, "--model", "popularity", "--out", model)
    out = tmp_path / "recs.jsonl"
    visrec("recommend", "--model", model, "--users", "c1", "--k", 2, "--out", out)
    (row,) = read_jsonl(out)
    assert [e["item_id"] for e in row["items"]][0] == "0176209001"  # c1 has both best sellers: next is 0176209001
    q = visrec("search", *src, *cache, "--image", hm_dir / "images/011/0111565002.jpg", "--k", 1)
    assert json.loads(q.stdout)["similar"][0]["item_id"] == "0111565002"


def test_recommend_leaves_out_the_datasets_current_histories(hm_dir, tmp_path):
    early = tmp_path / "early.csv"  # what the model was trained on: the first two days, in H&M's own columns
    tx = pd.read_csv(hm_dir / "transactions_train.csv", dtype=str)
    tx[tx["t_dat"] <= "2020-09-02"].to_csv(early, index=False)
    model = tmp_path / "m"
    visrec("train", "--images-root", hm_dir / "images", "--interactions", early, "--model", "popularity",
           "--out", model)
    out = tmp_path / "recs.jsonl"
    visrec("recommend", "--model", model, "--users", "c2", "--k", 6, "--out", out)
    (row,) = read_jsonl(out)
    assert [e["item_id"] for e in row["items"]][0] == "0111565001"  # the best seller c2 had not bought by then
    p = visrec("recommend", "--model", model, "--users", "c2", "--k", 6, "--dataset", "hm", "--data-dir", hm_dir,
               "--out", out)
    (row,) = read_jsonl(out)
    got = [e["item_id"] for e in row["items"]]
    assert not {"0108775001", "0111565001", "0176209001"} & set(got) and len(got) == 3  # c2 has them all now
    assert "excluding 5 user-item pairs from --dataset hm (3 name users or items unknown" in p.stderr


def test_movielens_layout_on_train_and_similar(ml_dir, tmp_path):
    cache = ["--cache", tmp_path / "cache"]
    src = ["--dataset", "movielens-1m", "--data-dir", ml_dir]
    model = tmp_path / "m"
    p = visrec("train", *src, *cache, "--model", "visual", "--out", model)
    assert "3 items" in p.stdout or "trained visual" in p.stdout
    from recsys.models import Recommender
    m = Recommender.load(model)
    assert sorted(m.items_.ids.tolist()) == ["1", "2", "3"] and len(m.users_) == 3
    sim = tmp_path / "sim.jsonl"
    visrec("similar", *src, *cache, "--k", 1, "--out", sim)
    nn = {r["item_id"]: r["similar"][0]["item_id"] for r in read_jsonl(sim)}
    assert nn["1"] == "3" and nn["3"] == "1"  # the two yellow posters


def test_demo_dataset_without_files(tmp_path):
    model = tmp_path / "m"
    visrec("train", "--dataset", "demo", "--cache", tmp_path / "cache", "--model", "popularity", "--out", model)
    from recsys.models import Recommender
    assert len(Recommender.load(model).items_) == 1000


@pytest.mark.parametrize("args, message", [
    (("train", "--dataset", "hm", "--model", "popularity"), "--dataset hm needs --data-dir"),
    (("embed", "--dataset", "hm", "--data-dir", "/nonexistent/hm"), "--data-dir /nonexistent/hm: no such folder"),
    (("train", "--dataset", "hm", "--data-dir", ".", "--catalog", "c.csv", "--model", "popularity"),
     "--dataset hm brings its own files: drop --catalog"),
    (("train", "--catalog", "c.csv", "--model", "popularity"), "give --interactions FILE"),
    (("similar", "--model", "m", "--dataset", "movielens-1m", "--data-dir", "."),
     "give --model DIR or --dataset movielens-1m, not both"),
])
def test_usage_errors_name_the_missing_or_conflicting_option(tmp_path, args, message):
    p = visrec(*args, "--out", tmp_path / "out", check=False)
    assert p.returncode == 2 and message in p.stderr, p.stderr
