"""Saved model folders: verified on load; a damaged or inconsistent file is named, never a silent empty list."""

import json

import numpy as np
import pandas as pd
import pytest

from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model
from recsys.models.persistence import ModelFileError


@pytest.fixture()
def saved(tmp_path):
    cat = Catalog.from_frame(pd.DataFrame({"item_id": list("abcdef")}))
    inter = Interactions.from_frame(pd.DataFrame({"user_id": list("uuvvwwx"), "item_id": list("abbcacd")}))
    model = make_model("ease", lambda_=1.0).fit(Dataset(cat, inter))
    model.save(tmp_path / "m")
    return model, tmp_path / "m"


def test_intact_folder_loads_with_its_manifest(saved):
    model, d = saved
    manifest = json.loads((d / "manifest.json").read_text())["files"]
    assert set(manifest) == {"model.json", "users.json", "items.json", "user_items.npz", "state.npz"}
    assert Recommender.load(d).recommend("u", k=3)[0].tolist() == model.recommend("u", k=3)[0].tolist()


def test_truncated_state_is_named(saved):
    _, d = saved
    data = (d / "state.npz").read_bytes()
    (d / "state.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"state\.npz: .* bytes, the manifest says .* \(truncated\?\)"):
        Recommender.load(d)
    (d / "manifest.json").unlink()  # without a manifest the read itself fails, still naming the file
    with pytest.raises(ModelFileError, match=r"state\.npz: cannot be read .* damaged"):
        Recommender.load(d)


def test_nan_in_learned_state_is_refused(saved):
    _, d = saved
    with np.load(d / "state.npz") as z:
        state = {k: z[k] for k in z.files}
    state["weights"][0, 1] = np.nan
    np.savez(d / "state.npz", **state)
    (d / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match=r"state\.npz: array 'weights' holds 1 non-finite"):
        Recommender.load(d)


def test_edited_file_fails_the_checksum(saved):
    _, d = saved
    users = json.loads((d / "users.json").read_text())
    (d / "users.json").write_text(json.dumps(users[::-1]).replace(" ", "  ")[: len(json.dumps(users)) + 50])
    with pytest.raises(ModelFileError, match=r"users\.json"):
        Recommender.load(d)


def test_id_lists_must_match_the_matrices(saved):
    _, d = saved
    users = json.loads((d / "users.json").read_text())
    (d / "users.json").write_text(json.dumps(users[:-1]))
    (d / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match=r"user_items\.npz: shape \(4, 6\) does not match users\.json \(3 users\)"):
        Recommender.load(d)


@pytest.mark.parametrize("fmt", ["1", 2, None])
def test_format_must_be_the_integer_this_version_reads(saved, fmt):
    _, d = saved
    meta = json.loads((d / "model.json").read_text())
    meta["format"] = fmt
    (d / "model.json").write_text(json.dumps(meta))
    (d / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match=rf"\"format\" is {fmt!r}; this visrec reads format 1 \(an integer\)"):
        Recommender.load(d)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved visrec model"):
        Recommender.load(tmp_path)


def test_hybrid_image_vectors_are_saved_once_and_loaded_as_one_array(tmp_path):
    """A hybrid and its visual parts hold the same image vectors: written once, one array after loading
    (at a million 1,280-d items a copy per part would be 5 GB each)."""
    from features import ItemFeatures
    rng = np.random.default_rng(0)
    n = 60
    V = rng.normal(size=(n, 8)).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(n)]}))
    rows = [(f"u{u}", f"i{i}") for u in range(40) for i in rng.choice(n - 10, 5, replace=False)]
    data = Dataset(cat, Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"])))
    model = make_model("hybrid", weights=[1, 1, 1], progress=False,
                       component_params={"als-visual": {"factors": 4, "iterations": 2}})
    model.fit(data, ItemFeatures(V, np.ones(n, bool)))
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert {"als-visual.item_vectors": "item_vectors", "visual.item_vectors": "item_vectors",
            "als-visual.present": "present", "visual.present": "present"}.items() <= meta["state_aliases"].items()
    with np.load(tmp_path / "m" / "state.npz") as z:
        assert [k for k in z.files if k.endswith("item_vectors")] == ["item_vectors"]
    loaded = Recommender.load(tmp_path / "m")
    assert all(p.item_vectors_ is loaded.item_vectors_ for p in loaded.parts_ if p.uses_visual)
    np.testing.assert_array_equal(loaded.recommend_index(np.arange(5), 5)[0], model.recommend_index(np.arange(5), 5)[0])
    new = ItemFeatures(V[:3] + 0.01, np.ones(3, bool))  # grown: still one array
    loaded.add_items(["n0", "n1", "n2"], new)
    assert all(p.item_vectors_ is loaded.item_vectors_ for p in loaded.parts_ if p.uses_visual)
    # an alias that names no saved array is a damaged folder, named
    meta["state_aliases"]["visual.item_vectors"] = "nothing"
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    (tmp_path / "m" / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match=r"state alias 'visual.item_vectors' -> 'nothing'"):
        Recommender.load(tmp_path / "m")
