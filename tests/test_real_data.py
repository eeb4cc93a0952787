"""End-to-end checks on the real datasets in ../shared/datasets (skipped when absent)."""


import pytest

from conftest import shared_dataset
from test_cli import read_jsonl, visrec

pytestmark = pytest.mark.shared


def test_movielens_1m_loads_and_ranks():
    from evaluation import Experiment, random_split
    from recsys.data import Dataset, load_movielens_1m
    from recsys.models import make_model
    d = shared_dataset("movielens-1m")
    catalog, inter = load_movielens_1m(d, min_rating=3)
    assert len(inter) > 800_000 and len(catalog) == 3883
    assert sum(p is not None for p in catalog.image_paths()) >= 3690
    ds = Dataset(catalog, inter)
    assert ds.n_users == 6039
    split = random_split(inter, 0.2, random_state=0)
    res = Experiment({"popularity": make_model("popularity"),
                      "als": make_model("als", iterations=5, progress=False)}, split, catalog, verbose=False).run()
    m = res.means()
    assert m["als"]["recall@10"] > m["popularity"]["recall@10"] > 0.05


def test_movielens_posters_embed_including_odd_files(embedder, tmp_path):
    d = shared_dataset("movielens-1m")
    paths = [d / "posters" / "3575.jpg", d / "posters" / "1789.jpg", d / "posters" / "1.jpg"]  # PNG, greyscale
    res = embedder.embed_paths(paths)
    assert res.present.all()


def test_hm_sample_loads_with_partial_metadata():
    from recsys.data import Dataset, load_hm
    d = shared_dataset("hm-sample")
    catalog, inter = load_hm(d)
    ds = Dataset(catalog, inter)
    assert ds.n_users == 1364 and int(inter.df["weight"].sum()) == 31662
    assert catalog.df["title"].notna().sum() == 4116
    assert all(p is not None for p in catalog.image_paths())
    assert catalog.df["item_id"].str.len().eq(10).all()


def test_visrec_similar_on_hm_images(tmp_path):
    d = shared_dataset("hm-sample")
    import shutil
    src = sorted((d / "images").glob("*/*.jpg"))[:120]
    root = tmp_path / "imgs"
    for p in src:
        (root / p.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, root / p.parent.name / p.name)
    out = tmp_path / "sim.jsonl"
    visrec("similar", "--images-root", root, "--k", 5, "--out", out, "--cache", tmp_path / "cache")
    rows = read_jsonl(out)
    assert len(rows) == 120 and all(len(r["similar"]) == 5 for r in rows)
