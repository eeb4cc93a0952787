"""Events: who may send them, a burst stored without loss, duplicates dropped, export."""

import json
import sqlite3
import threading

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.helpers import visrec

from .serving import ADMIN_KEY, READ_KEY, make_app, read


def _event(i, **kw):
    return {"type": "impression", "event_id": f"e{i}", "item_id": "fm0001", "rec_id": "r1", "visitor_id": "v1",
            "position": hash(i) % 8, **kw}


@pytest.fixture(scope="module")
def setup(served_models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("events")
    app = make_app(served_models, tmp, warm=False)
    with TestClient(app) as c:
        yield c, tmp / "changes.sqlite"


def test_a_read_key_sends_events_and_nothing_else_writes(setup):
    c, _ = setup
    r = c.post("/v1/events", json=_event(1, type="click"), headers=read())
    assert r.status_code == 200 and r.json() == {"received": 1, "stored": 1}
    beacon = c.post(f"/v1/events?key={READ_KEY}", json=_event(2))  # sendBeacon: no headers
    assert beacon.status_code == 200
    plain = c.post(f"/v1/events?key={READ_KEY}", content=json.dumps(_event(6)),  # what sendBeacon sends
                   headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert plain.status_code == 200 and plain.json()["stored"] == 1
    for outcome in ("cart", "purchase"):  # outcomes come from the shop's backend, not from a public page
        r = c.post("/v1/events", json=_event(f"o-{outcome}", type=outcome), headers=read())
        assert r.status_code == 403 and outcome in r.json()["detail"]
        assert c.post("/v1/events", json=_event(f"o-{outcome}", type=outcome),
                      headers={"X-API-Key": ADMIN_KEY}).status_code == 200
    assert c.post("/v1/events", json=_event(3)).status_code == 401
    assert c.post(f"/v1/items/fm0001/similar?key={READ_KEY}").status_code in (401, 405)
    bad = c.post("/v1/events", json={**_event(4), "type": "view"}, headers=read())
    assert bad.status_code == 422
    nobody = c.post("/v1/events", json={k: v for k, v in _event(5).items() if k != "visitor_id"}, headers=read())
    assert nobody.status_code == 422 and "user_id or a visitor_id" in str(nobody.json()["detail"])


def test_a_burst_of_10000_events_loses_none_and_drops_duplicates(setup):
    c, store = setup
    batches = [[_event(f"b{t}-{i}") for i in range(500)] for t in range(20)]
    results, errors = [], []

    def send(batch):
        r = c.post("/v1/events", json={"events": batch}, headers={"X-API-Key": ADMIN_KEY})
        (results if r.status_code == 200 else errors).append(r)

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sum(r.json()["stored"] for r in results) == 10000
    again = c.post("/v1/events", json={"events": batches[0][:100]}, headers=read())
    assert again.json() == {"received": 100, "stored": 0}  # resent beacons are dropped
    with sqlite3.connect(store) as db:
        n = db.execute("SELECT COUNT(*) FROM events WHERE event_id LIKE 'eb%'").fetchone()[0]
    assert n == 10000


def test_events_export_to_parquet_and_csv(setup, tmp_path):
    c, store = setup
    r = c.post("/v1/events", json=_event("x1", type="purchase", user_id="shopper001", visitor_id=None),
               headers={"X-API-Key": ADMIN_KEY})  # outcomes come from the shop's backend
    assert r.status_code == 200
    out = tmp_path / "events.parquet"
    p = visrec("events", "export", "--store", store, "--out", out)
    df = pd.read_parquet(out)
    assert "purchase" in p.stdout and len(df) >= 2
    row = df.set_index("event_id").loc["ex1"]
    assert row["type"] == "purchase" and row["user_id"] == "shopper001" and row["key_name"] == "ops"
    visrec("events", "export", "--store", store, "--out", tmp_path / "events.csv")
    assert len(pd.read_csv(tmp_path / "events.csv")) == len(df)
    bad = visrec("events", "export", "--store", tmp_path / "none.sqlite", "--out", out, check=False)
    assert bad.returncode == 2 and "none.sqlite" in bad.stderr
