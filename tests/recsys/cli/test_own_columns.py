"""A shop's own export on the command line: ``--columns`` and ``--event-weights`` reach the loaders of
train and recommend, and the alias used is noted on stderr."""

import json

import pandas as pd

from tests.helpers import visrec


def test_train_and_recommend_on_ga4_style_events(tmp_path):
    cat = tmp_path / "products.csv"
    pd.DataFrame({"sku": [f"s{i}" for i in range(6)], "product_name": [f"Tee {i}" for i in range(6)]}).to_csv(
        cat, index=False)
    ev = tmp_path / "events.csv"
    rows = [("u1", "s0", "view_item"), ("u1", "s1", "purchase"), ("u2", "s1", "add_to_cart"),
            ("u2", "s2", "view_item"), ("u3", "s1", "view_item"), ("u3", "s3", "view_item")]
    pd.DataFrame(rows, columns=["visitor", "item_id", "action_name"]).to_csv(ev, index=False)
    model = tmp_path / "m"
    p = visrec("train", "--catalog", cat, "--interactions", ev, "--model", "popularity",
               "--columns", "user_id=visitor,event=action_name",
               "--event-weights", "view_item=1,add_to_cart=3,purchase=9", "--out", model)
    assert "column 'sku' read as item_id" in p.stderr
    from recsys.models import Recommender
    m = Recommender.load(model)
    X = m.user_items_.toarray()
    u1, u2 = m.users_.to_index(["u1", "u2"])
    s0, s1 = m.items_.to_index(["s0", "s1"])
    assert (X[u1, s0], X[u1, s1], X[u2, s1]) == (1.0, 9.0, 3.0)  # the weights given, by the file's event names
    out = tmp_path / "recs.jsonl"
    visrec("recommend", "--model", model, "--users", "u3", "--k", 2, "--out", out)
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert {e["item_id"] for e in row["items"]} == {"s0", "s2"}  # u3 saw s1 and s3: left out
    bad = visrec("train", "--catalog", cat, "--interactions", ev, "--model", "popularity",
                 "--event-weights", "view_item=one", "--out", model, check=False)
    assert bad.returncode == 2 and "the weight of 'view_item' is not a number" in bad.stderr
