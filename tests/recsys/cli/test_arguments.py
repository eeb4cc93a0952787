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
