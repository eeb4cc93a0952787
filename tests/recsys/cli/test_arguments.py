"""Bad command-line arguments end with exit status 2 and a message naming the argument or path."""

import pytest

from recsys.cli import main


@pytest.mark.parametrize("argv, message", [
    (["recommend", "--model", "m", "--k", "0", "--out", "o.jsonl"], "argument --k: must be at least 1, got 0"),
    (["similar", "--images-root", "x", "--k", "-3", "--out", "o.jsonl"], "argument --k: must be at least 1"),
    (["compare", "--a", "a", "--b", "b", "--test", "t", "--out", "o", "--n-boot", "0"], "--n-boot: must be at least 1"),
    (["compare", "--a", "a", "--b", "b", "--test", "t", "--out", "o", "--alpha", "1"], "--alpha: must be above 0.0"),
    (["evaluate", "--out", "o", "--test-fraction", "1.5"], "--test-fraction: must be above 0.0 and below 1.0"),
    (["embed", "--images-root", "x", "--out", "o", "--batch-size", "ten"], "--batch-size: expected a whole number"),
    (["embed", "--images-root", "x", "--out", "o", "--input-size", "0"], "--input-size: must be at least 1"),
])
def test_out_of_range_arguments_are_named(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_paths_that_cannot_be_written_or_read_are_named(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["recommend", "--model", str(tmp_path / "none"), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "not a saved visrec model" in capsys.readouterr().err
    assert main(["embed", "--catalog", str(tmp_path), "--out", str(blocker / "x.npz")]) == 2
    assert f"{tmp_path}: is a folder" in capsys.readouterr().err


def test_on_error_skip_applies_to_catalog_rows(tmp_path, capsys):
    from tests.helpers import make_image
    make_image(tmp_path / "a.png", (200, 20, 20))
    make_image(tmp_path / "b.png", (20, 200, 20), "disc")
    (tmp_path / "c.csv").write_text("item_id,image,price\na,a.png,1\nb,b.png,cheap\n,a.png,2\n")
    argv = ["embed", "--catalog", str(tmp_path / "c.csv"), "--out", str(tmp_path / "e.npz"), "--cache", str(tmp_path)]
    assert main(argv) == 2
    assert "c.csv: line 4: column 'item_id': missing item id" in capsys.readouterr().err
    assert main(argv + ["--on-error", "skip"]) == 0
    err = capsys.readouterr().err
    assert "2 row(s) skipped" in err and "line 4" in err
    import numpy as np
    with np.load(tmp_path / "e.npz") as z:
        assert z["item_ids"].tolist() == ["a"] and z["present"].tolist() == [True]


def test_folder_with_a_non_utf8_file_name_keeps_the_others(tmp_path, capsys):
    import json
    from tests.helpers import make_image
    make_image(tmp_path / "b.png", (20, 200, 20))
    make_image(tmp_path / "c.png", (20, 20, 200), "disc")
    make_image(bytes(tmp_path) + b"/caf\xe9.png", (200, 20, 20))
    out = tmp_path / "s.jsonl"
    assert main(["similar", "--images-root", str(tmp_path), "--out", str(out), "--cache", str(tmp_path / "c")]) == 0
    assert "not valid UTF-8, rename it: caf\\xe9.png" in capsys.readouterr().err
    assert [json.loads(x)["item_id"] for x in out.read_text().splitlines()] == ["b", "c"]


def test_input_size_defaults_to_the_backbones_own_and_keeps_its_own_store(tmp_path):
    from argparse import Namespace

    from recsys.cli.options import make_embedder, store_dir
    ns = Namespace(backbone="efficientnet_lite1", weights=None, device="cpu", batch_size=4, preprocess="pad",
                   input_size=None)
    assert make_embedder(ns).input_size == 240  # EfficientNet-Lite1 was trained at 240 px
    ns.backbone = "efficientnet_lite0"
    assert make_embedder(ns).input_size == 224
    ns.input_size = 96
    emb = make_embedder(ns)
    assert emb.input_size == 96 and store_dir(tmp_path, emb).name == "efficientnet_lite0-pad-96"
