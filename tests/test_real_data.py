"""End-to-end checks on the real datasets in ../shared/datasets (skipped when absent).

Expected sizes are counted here from the dataset files themselves (or taken from the facts in
``../shared/datasets/README.md``), never copied from an earlier run, so that a loader that drops or
invents rows fails and a refreshed dataset does not.
"""

import csv
import shutil

import pytest

from tests.helpers import shared_dataset
from tests.helpers import read_jsonl, visrec

pytestmark = pytest.mark.shared


def read_ratings(d, min_rating=None):
    """(user, movie) pairs of ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``), read here."""
    pairs = []
    with open(d / "ratings.dat", encoding="latin-1") as f:
        for line in f:
            user, movie, rating, _ = line.rstrip("\n").split("::")
            if min_rating is None or float(rating) >= min_rating:
                pairs.append((user, movie))
    return pairs


def movie_ids(d) -> list:
    with open(d / "movies.dat", encoding="latin-1") as f:
        return [line.split("::", 1)[0] for line in f if line.strip()]


def read_csv_column(path, column) -> list:
    with open(path, newline="", encoding="utf-8") as f:
        return [row[column] for row in csv.DictReader(f)]


def hm_photos(d) -> set:
    """Article ids of every photo under ``images/<first 3 digits>/<article_id>.jpg``."""
    return {p.stem for p in (d / "images").glob("*/*.jpg")}


def test_movielens_1m_loads_and_ranks():
    from evaluation import Experiment, random_split
    from recsys.data import Dataset, load_movielens_1m
    from recsys.models import make_model
    d = shared_dataset("movielens-1m")
    catalog, inter = load_movielens_1m(d, min_rating=3)
    all_ratings = read_ratings(d)
    kept = read_ratings(d, min_rating=3)
    assert len(all_ratings) == 1_000_209  # README: 1,000,209 ratings
    assert 0 < len(kept) < len(all_ratings)
    # every rating >= 3 is an interaction (binary weight), each (user, movie) once
    assert len(inter) == len(set(kept)) and int(inter.df["weight"].sum()) == len(kept)
    assert set(zip(inter.df["user_id"], inter.df["item_id"])) == set(kept)
    # every movie of movies.dat is a catalog item, with its poster where one exists
    movies = movie_ids(d)
    assert sorted(catalog.item_ids) == sorted(movies)
    posters = {p.stem for p in (d / "posters").glob("*.jpg")}
    with_poster = {i for i, p in zip(catalog.item_ids, catalog.image_paths()) if p is not None}
    assert with_poster == posters & set(movies)
    rated = {m for _, m in all_ratings}
    assert len(rated) == 3706 and len(rated & posters) == 3699  # README: 3,699 of the 3,706 rated movies
    ds = Dataset(catalog, inter)
    assert ds.n_users == len({u for u, _ in kept})
    assert ds.n_items == len(movies)
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


def test_hm_sample_loads_every_photo_and_partial_metadata():
    from recsys.data import Dataset, load_hm
    d = shared_dataset("hm-sample")
    catalog, inter = load_hm(d)
    customers = read_csv_column(d / "transactions_train.csv", "customer_id")
    bought = set(read_csv_column(d / "transactions_train.csv", "article_id"))
    described = read_csv_column(d / "articles.csv", "article_id")
    named = [a for a, t in zip(described, read_csv_column(d / "articles.csv", "prod_name")) if t.strip()]
    photos = hm_photos(d)
    unsold = photos - bought
    # README: 20,920 photos, 3,887 of them of articles nobody in the sample bought; every purchase has a photo
    assert len(photos) == 20_920 and len(unsold) == 3_887 and bought <= photos

    ds = Dataset(catalog, inter)
    assert ds.n_users == len(set(customers))
    assert int(inter.df["weight"].sum()) == len(customers)  # one purchase = weight 1, repeats summed
    # the catalog: every photo (unsold articles included), every purchased or described article
    ids = set(catalog.item_ids)
    assert len(ids) == len(catalog)
    assert ids == photos | bought | set(described)
    assert unsold <= ids
    assert all(p is not None for p in catalog.image_paths())
    # metadata only where articles.csv has it; ids keep their leading zeros
    titled = catalog.df.loc[catalog.df["title"].notna(), "item_id"]
    assert set(titled) == set(named)
    assert catalog.df["item_id"].str.len().eq(10).all() and any(i.startswith("0") for i in ids)
    # items that nobody bought are cold items of the dataset, not dropped
    assert len(ds.cold_items()) == len(ids - bought)


def test_hm_images_folder_is_a_catalog_of_every_photo():
    from recsys.data import load_folder_catalog
    d = shared_dataset("hm-sample")
    catalog = load_folder_catalog(d / "images")
    assert set(catalog.item_ids) == hm_photos(d)


def test_visrec_similar_on_hm_images(tmp_path):
    d = shared_dataset("hm-sample")
    bought = set(read_csv_column(d / "transactions_train.csv", "article_id"))
    photos = sorted((d / "images").glob("*/*.jpg"))
    # purchased and unsold articles alike
    src = [p for p in photos if p.stem in bought][:60] + [p for p in photos if p.stem not in bought][:60]
    root = tmp_path / "imgs"
    for p in src:
        (root / p.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, root / p.parent.name / p.name)
    out = tmp_path / "sim.jsonl"
    visrec("similar", "--images-root", root, "--k", 5, "--out", out, "--cache", tmp_path / "cache")
    rows = read_jsonl(out)
    items = {p.stem for p in src}
    assert {r["item_id"] for r in rows} == items and len(rows) == len(src)
    for r in rows:
        ids = [x["item_id"] for x in r["similar"]]
        assert len(set(ids)) == 5 and set(ids) <= items and r["item_id"] not in ids
