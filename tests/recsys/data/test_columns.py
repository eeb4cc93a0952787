"""Shops' own exports read as they are: H&M-, GA4- and Shopify-style tables through recognised column
names (each noted), explicit --columns mappings, event weights, microsecond timestamps; a mapping that
names a missing column is an error naming the file and its columns."""

import pandas as pd
import pytest

from recsys.data import DataError, load_catalog, load_interactions
from recsys.data.columns import parse_columns, parse_event_weights


def test_hm_style_transactions(tmp_path):
    f = tmp_path / "transactions_train.csv"
    pd.DataFrame({"t_dat": ["2020-09-01", "2020-09-02"], "customer_id": ["c1", "c2"],
                  "article_id": ["0108775015", "0108775044"], "price": ["0.05", "0.03"],
                  "sales_channel_id": ["2", "1"]}).to_csv(f, index=False)
    inter = load_interactions(f)
    assert inter.df["user_id"].tolist() == ["c1", "c2"]
    assert inter.df["item_id"].tolist() == ["0108775015", "0108775044"]  # leading zero kept
    assert inter.df["timestamp"].tolist() == [1598918400, 1599004800]
    notes = " ".join(inter.report.notes)
    for col, target in (("customer_id", "user_id"), ("article_id", "item_id"), ("t_dat", "timestamp")):
        assert f"column '{col}' read as {target}" in notes


def test_ga4_style_events_with_microseconds_and_event_weights(tmp_path):
    f = tmp_path / "ga4.csv"
    us = 1_700_000_000 * 1_000_000
    pd.DataFrame({"event_date": ["20231114"] * 3, "event_timestamp": [str(us), str(us + 5_000_000), str(us + 9)],
                  "event_name": ["view_item", "add_to_cart", "purchase"],
                  "user_pseudo_id": ["u.1"] * 3, "item_id": ["sku1", "sku2", "sku3"]}).to_csv(f, index=False)
    inter = load_interactions(f)
    assert inter.df["timestamp"].tolist() == [1_700_000_000, 1_700_000_005, 1_700_000_000]
    assert inter.df["weight"].tolist() == [1.0, 3.0, 5.0]  # GA4 names are known events
    assert any("microseconds" in n for n in inter.report.notes)
    custom = load_interactions(f, event_weights=parse_event_weights("view_item=1,add_to_cart=2,purchase=10"))
    assert custom.df["weight"].tolist() == [1.0, 2.0, 10.0]
    with pytest.raises(DataError, match=r"ga4\.csv: line 3: column .event_name.: unknown event type .*add_to_cart"):
        load_interactions(f, event_weights={"view_item": 1, "purchase": 5})


def test_shopify_style_orders_and_an_explicit_mapping(tmp_path):
    f = tmp_path / "orders_export.csv"
    pd.DataFrame({"Name": ["#1001", "#1002"], "Email": ["a@x.com", "b@x.com"],
                  "Created at": ["2024-01-05 10:00:00 +0100", "2024-01-06 11:30:00 +0100"],
                  "Lineitem quantity": ["2", "1"], "Lineitem sku": ["TEE-RED-M", "TEE-BLU-S"]}).to_csv(f, index=False)
    inter = load_interactions(f)
    assert inter.df[["user_id", "item_id"]].values.tolist() == [["a@x.com", "TEE-RED-M"], ["b@x.com", "TEE-BLU-S"]]
    assert inter.df["weight"].tolist() == [2.0, 1.0] and inter.df["timestamp"].tolist()[0] == 1704445200
    mapped = load_interactions(f, columns=parse_columns("user_id=Name,item_id=Lineitem sku"))
    assert mapped.df["user_id"].tolist() == ["#1001", "#1002"]  # the mapping wins over the aliases
    with pytest.raises(DataError, match=r"orders_export\.csv: --columns user_id=Customer: no column 'Customer' "
                                        r"\(columns: \['Name', 'Email'"):
        load_interactions(f, columns={"user_id": "Customer"})
    with pytest.raises(DataError, match=r"--columns names \['image'\], but interactions tables take"):
        load_interactions(f, columns={"image": "Name"})


def test_catalog_aliases_and_malformed_mappings(tmp_path):
    f = tmp_path / "products.csv"
    pd.DataFrame({"sku": ["A1", "B2"], "image_link": ["a.png", "b.png"], "product_name": ["Red tee", "Blue tee"],
                  "product_type": ["Tee", "Tee"]}).to_csv(f, index=False)
    cat = load_catalog(f)
    assert cat.item_ids.tolist() == ["A1", "B2"] and cat.df["title"].tolist() == ["Red tee", "Blue tee"]
    assert cat.df["image"].tolist() == ["a.png", "b.png"] and cat.df["category"].tolist() == ["Tee", "Tee"]
    with pytest.raises(ValueError, match="'user_id' is not visrec_column=your_column"):
        parse_columns("user_id")
    with pytest.raises(ValueError, match="weight of 'view' must be positive"):
        parse_event_weights("view=0")
