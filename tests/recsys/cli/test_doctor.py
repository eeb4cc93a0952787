"""`visrec doctor`: every problem of a model folder, a cache or a catalog listed with its file; status 1."""

import numpy as np
import pandas as pd

from recsys.cli import main
from recsys.data import Catalog, Dataset, Interactions
from recsys.models import make_model
from tests.helpers import make_image


def test_model_folder_intact_then_damaged(tmp_path, capsys):
    cat = Catalog.from_frame(pd.DataFrame({"item_id": list("abc")}))
    data = Dataset(cat, Interactions.from_frame(pd.DataFrame({"user_id": list("uuv"), "item_id": list("abc")})))
    make_model("popularity").fit(data).save(tmp_path / "m")
    assert main(["doctor", "--model", str(tmp_path / "m")]) == 0
    assert "no problems found" in capsys.readouterr().err
    f = tmp_path / "m" / "state.npz"
    f.write_bytes(f.read_bytes()[:50])
    assert main(["doctor", "--model", str(tmp_path / "m")]) == 1
    out = capsys.readouterr().out
    assert f"problem: {f}: 50 bytes, the manifest says" in out


def test_cache_with_a_bad_shard(tmp_path, capsys):
    from visual import EmbeddingStore
    store = EmbeddingStore(tmp_path / "cache" / "efficientnet_lite0-pad-224", {"dim": 2})
    store.add(["k1"], [[1.0, 0.0]])
    store.add(["k2"], [[0.0, np.nan]])
    assert main(["doctor", "--cache", str(tmp_path / "cache")]) == 1
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("problem:")]
    assert len(lines) == 1 and "part-000002" in lines[0] and "1 non-finite value(s)" in lines[0]


def test_catalog_rows_paths_and_images(tmp_path, capsys):
    root = tmp_path / "shop"
    root.mkdir()
    make_image(root / "ok.png", (200, 20, 20))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    rows = {"item_id": ["ok", "broken", "missing", "away", "ok"],
            "image": ["ok.png", "broken.jpg", "gone.png", "../x.png", "ok.png"]}
    pd.DataFrame(rows).to_csv(root / "c.csv", index=False)
    assert main(["doctor", "--catalog", str(root / "c.csv")]) == 1
    out = capsys.readouterr().out
    assert "line 6: item_id: duplicate of line 2" in out
    assert "item broken:" in out and "item missing:" in out and "file not found" in out
    assert "item away:" in out and "outside the images root" in out
    assert "item ok:" not in out
