import numpy as np
import pandas as pd
import pytest

from recsys.data import (Catalog, DataError, Dataset, IdMap, Interactions, UnknownIdError, load_catalog,
                         load_folder_catalog, load_hm, load_interactions, load_movielens_1m)


def write(path, text):
    path.write_text(text)
    return path


def test_idmap_roundtrip_and_unknown_ids_named():
    m = IdMap(["0108775015", "b", "c"], kind="item")
    assert m.to_index(["c", "0108775015"]).tolist() == [2, 0]
    assert m.to_ids([1, 2]).tolist() == ["b", "c"]
    assert m.to_index(["x", "b"], missing="ignore").tolist() == [-1, 1]
    with pytest.raises(UnknownIdError, match="'nope'"):
        m.to_index(["b", "nope"])
    with pytest.raises(ValueError, match="duplicate"):
        IdMap(["a", "a"])


def test_catalog_and_interactions_csv(tmp_path):
    cat = write(tmp_path / "catalog.csv", "item_id,image,title,price\n007,img/7.jpg,Shoe,19.9\n008,,Bag,5\n")
    inter = write(tmp_path / "inter.csv", "user_id,item_id,timestamp,event\nu1,007,2024-01-02,view\n"
                  "u1,008,2024-01-03,purchase\nu2,007,1704153600,cart\n")
    c = load_catalog(cat)
    assert c.item_ids.tolist() == ["007", "008"]  # leading zeros kept
    assert c.image_paths()[0] == tmp_path / "img/7.jpg" and c.image_paths()[1] is None
    i = load_interactions(inter)
    assert i.df["weight"].tolist() == [1.0, 5.0, 3.0]
    assert (i.df["timestamp"] > 1.7e9).all()
    d = Dataset(c, i)
    assert d.matrix().shape == (2, 2)
    assert d.matrix()[d.users.to_index("u1"), d.items.to_index("008")] == 5.0


@pytest.mark.parametrize("row,column,value", [
    ("u1,,1", "item_id", None),
    ("u1,a,-3", "weight", "-3"),
    ("u1,a,abc", "weight", "abc"),
])
def test_malformed_rows_name_file_line_and_value(tmp_path, row, column, value):
    f = write(tmp_path / "bad.csv", f"user_id,item_id,weight\nu0,a,1\n{row}\n")
    with pytest.raises(DataError) as e:
        load_interactions(f)
    msg = str(e.value)
    assert "bad.csv" in msg and "line 3" in msg and column in msg
    if value is not None:
        assert repr(value) in msg
    # skip mode: the row is dropped and reported, the rest kept
    i = load_interactions(f, on_error="skip")
    assert len(i) == 1 and i.report.skipped[0]["row"] == 3


def test_unknown_event_and_bad_timestamp(tmp_path):
    f = write(tmp_path / "ev.csv", "user_id,item_id,event\nu,a,view\nu,b,teleport\n")
    with pytest.raises(DataError, match="teleport"):
        load_interactions(f)
    assert len(load_interactions(f, event_weights={"view": 1, "teleport": 9})) == 2
    f = write(tmp_path / "ts.csv", "user_id,item_id,timestamp\nu,a,2024-01-01\nu,b,not a date\n")
    with pytest.raises(DataError, match="line 3.*not a date"):
        load_interactions(f)


def test_duplicates_merged_or_reported_never_mixed(tmp_path):
    f = write(tmp_path / "d.csv", "user_id,item_id,timestamp\nu,a,5\nu,a,5\nu,a,9\nu,b,5\n")
    i = load_interactions(f)
    assert i.report.merged == 1
    assert i.df["weight"].sum() == 4  # same-time repeat counted twice, not dropped
    d = Dataset(Catalog.from_frame(pd.DataFrame({"item_id": ["a", "b"]})), i)
    assert d.matrix().toarray().tolist() == [[3.0, 1.0]]
    c = Catalog.from_frame(pd.DataFrame({"item_id": ["a", "a", "b"], "title": [None, "A", "B"],
                                         "image": ["a1.jpg", None, "b.jpg"]}))
    # a repeated id keeps its first row whole (no record mixed from several rows); the repeat is reported
    assert c.df["item_id"].tolist() == ["a", "b"] and pd.isna(c.df.loc[0, "title"])
    assert c.df.loc[0, "image"] == "a1.jpg"
    assert c.report.skipped == [{"source": "<catalog>", "row": 3, "value": "a",
                                 "reason": "item_id: duplicate of line 2 (the first row is kept)"}]


def test_unknown_item_in_interactions(tmp_path):
    c = Catalog.from_frame(pd.DataFrame({"item_id": ["a"]}), source="cat.csv")
    i = Interactions.from_frame(pd.DataFrame({"user_id": ["u", "u"], "item_id": ["a", "zz"]}), source="i.csv")
    with pytest.raises(DataError, match=r"i.csv: line 3: item_id 'zz' is not in the catalog"):
        Dataset(c, i)
    d = Dataset(c, i, on_unknown="skip")
    assert d.matrix().nnz == 1 and d.report.skipped[0]["value"] == "zz"


def test_cold_items_get_an_index(tmp_path):
    c = Catalog.from_frame(pd.DataFrame({"item_id": ["a", "b", "new"]}))
    d = Dataset(c, Interactions.from_frame(pd.DataFrame({"user_id": ["u", "v"], "item_id": ["a", "b"]})))
    assert d.n_items == 3 and d.cold_items().tolist() == [2]


def test_movielens_layout(tmp_path):
    write(tmp_path / "movies.dat", "1::Toy Story (1995)::Animation|Comedy\n2::Heat: The Movie (1995)::Action\n")
    write(tmp_path / "ratings.dat", "1::1::5::978300760\n1::2::2::978300761\n2::1::3::978300762\n")
    (tmp_path / "posters").mkdir()
    (tmp_path / "posters" / "1.jpg").write_bytes(b"x")
    c, i = load_movielens_1m(tmp_path, min_rating=3)
    assert c.df["title"].tolist()[1] == "Heat: The Movie (1995)"
    assert c.image_paths()[0] == tmp_path / "posters/1.jpg" and c.image_paths()[1] is None
    assert len(i) == 2 and i.df["line"].tolist() == [1, 3]
    write(tmp_path / "ratings.dat", "1::1::5::978300760\n1::2::2\n")
    with pytest.raises(DataError, match="ratings.dat: line 2"):
        load_movielens_1m(tmp_path)


def test_movielens_ratings_as_weights(tmp_path):
    """``--weight rating`` (e.g. for time-ease's rating_alpha): the rating itself is the weight; binary is 1."""
    write(tmp_path / "movies.dat", "1::A (1995)::Drama\n2::B (1996)::Comedy\n")
    write(tmp_path / "ratings.dat", "1::1::5::978300760\n1::2::2::978300761\n2::1::4::978300762\n")
    _, rated = load_movielens_1m(tmp_path, weight="rating")
    _, binary = load_movielens_1m(tmp_path)
    assert rated.df["weight"].tolist() == [5.0, 2.0, 4.0] and binary.df["weight"].tolist() == [1.0, 1.0, 1.0]
    _, kept = load_movielens_1m(tmp_path, min_rating=3, weight="rating")
    assert kept.df["weight"].tolist() == [5.0, 4.0]
    with pytest.raises(ValueError, match="weight must be 'binary' or 'rating'"):
        load_movielens_1m(tmp_path, weight="stars")


def test_hm_layout_keeps_items_without_metadata(tmp_path):
    write(tmp_path / "transactions_train.csv",
          "t_dat,customer_id,article_id,price,sales_channel_id\n2020-09-01,c1,0108775015,0.01,2\n"
          "2020-09-02,c1,0111565001,0.02,2\n")
    write(tmp_path / "articles.csv", "article_id,product_code,prod_name,product_type_name,detail_desc\n"
          "0111565001,0111565,Stockings,Underwear Tights,Nylon\n")
    (tmp_path / "images" / "010").mkdir(parents=True)
    (tmp_path / "images" / "010" / "0108775015.jpg").write_bytes(b"x")
    c, i = load_hm(tmp_path)
    df = c.df.set_index("item_id")
    assert set(df.index) == {"0108775015", "0111565001"}
    assert pd.isna(df.loc["0108775015", "title"]) and df.loc["0111565001", "category"] == "Underwear Tights"
    assert df.loc["0108775015", "image"] == "images/010/0108775015.jpg" and pd.isna(df.loc["0111565001", "image"])
    assert df.loc["0108775015", "product_code"] == "0108775"
    assert Dataset(c, i).matrix().nnz == 2


def test_folder_catalog(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"1")
    (tmp_path / "y.PNG").write_bytes(b"1")
    (tmp_path / "notes.txt").write_text("no")
    c = load_folder_catalog(tmp_path)
    assert sorted(c.item_ids) == ["x", "y"]
    with pytest.raises(DataError, match="no image files"):
        load_folder_catalog(_empty(tmp_path))


def _empty(tmp_path):
    p = tmp_path / "empty"
    p.mkdir()
    return p


def test_ids_like_na_null_none_are_ids(tmp_path):
    f = write(tmp_path / "i.csv", "user_id,item_id,weight\nNA,null,1\nNone,NA,NA\n")
    with pytest.raises(DataError, match=r"i\.csv: line 3: column 'weight'"):  # NA in a number column: missing
        load_interactions(f)
    f = write(tmp_path / "i.csv", "user_id,item_id\nNA,null\nNone,NA\nu,\n")
    with pytest.raises(DataError, match=r"line 4: column 'item_id': missing item id"):  # empty stays missing
        load_interactions(f)
    inter = load_interactions(f, on_error="skip")
    assert inter.df[["user_id", "item_id"]].values.tolist() == [["NA", "null"], ["None", "NA"]]
    cat = load_catalog(write(tmp_path / "c.csv", "item_id,title\nNA,\nnull,N/A\n"))
    assert cat.item_ids.tolist() == ["NA", "null"] and cat.df["title"].isna().all()


def test_line_numbers_survive_blank_lines_and_quoted_newlines(tmp_path):
    f = write(tmp_path / "i.csv", 'user_id,item_id,event\n\nu,a,view\n"v\nw",b,cart\n\nu,c,teleport\n')
    with pytest.raises(DataError, match=r"i\.csv: line 7: column 'event'.*'teleport'"):
        load_interactions(f)
    cat = load_catalog(write(tmp_path / "c.csv", 'item_id,title\na,"two\nlines"\n\na,again\n'))
    assert cat.report.skipped[0]["row"] == 5 and "duplicate of line 2" in cat.report.skipped[0]["reason"]


def test_weights_that_overflow_float32_are_refused(tmp_path):
    f = write(tmp_path / "i.csv", "user_id,item_id,weight\nu,a,1\nu,b,1e39\n")
    with pytest.raises(DataError, match=r"line 3: column 'weight': .*below 3\.4e38.*'1e39'"):
        load_interactions(f)
    assert np.isfinite(load_interactions(f, on_error="skip").df["weight"]).all()


def test_timestamps_in_milliseconds_future_and_month_first_are_said(tmp_path):
    f = write(tmp_path / "i.csv", "user_id,item_id,timestamp\nu,a,1600000000000\nu,b,1600086400000\n")
    inter = load_interactions(f)
    assert inter.df["timestamp"].tolist() == [1600000000, 1600086400]
    assert "milliseconds" in inter.report.summary()
    f = write(tmp_path / "i.csv", "user_id,item_id,timestamp\nu,a,1600000000\nu,b,1e20\nu,c,2999-01-01\n")
    with pytest.raises(DataError, match=r"line 3: column 'timestamp': in the future"):
        load_interactions(f)
    ok = load_interactions(f, on_error="skip")
    assert ok.df["item_id"].tolist() == ["a"] and [r["row"] for r in ok.report.skipped] == [3, 4]
    inter = load_interactions(write(tmp_path / "i.csv", "user_id,item_id,timestamp\nu,a,05/01/2024\n"))
    assert pd.Timestamp(inter.df["timestamp"].iat[0], unit="s").month == 5
    assert "month first" in inter.report.summary()


def test_empty_file_folder_and_non_utf8_are_named(tmp_path):
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        load_interactions(write(tmp_path / "empty.csv", ""))
    with pytest.raises(DataError, match="is a folder"):
        load_catalog(tmp_path)
    g = tmp_path / "latin.csv"
    g.write_bytes("item_id,title\na,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: not UTF-8"):
        load_catalog(g)


def test_catalog_codes_group_equal_values_and_mark_missing_ones():
    cat = Catalog.from_frame(pd.DataFrame({"item_id": ["a1", "a2", "b1", "c1"],
                                           "product_code": ["0001", "0001", "0002", None]}))
    codes = cat.codes("product_code")
    assert codes[0] == codes[1] != codes[2] and codes[3] == -1 and codes.dtype == np.int64
    assert cat.codes("colour") is None and cat.codes(None) is None
