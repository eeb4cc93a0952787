"""Helpers shared by the tests (fixtures live in conftest.py): paths, the real datasets, synthetic
images and shops, and running the ``visrec`` command. No test module imports another."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from recsys.data import Interactions

ROOT = Path(__file__).resolve().parents[1]

SHARED = Path(os.environ.get("VISREC_SHARED", ROOT.parent / "shared" / "datasets"))


def shared_dataset(name: str) -> Path:
    """Path of a dataset in ../shared/datasets, or skip the test when it is absent."""
    p = SHARED / name
    if not p.is_dir():
        pytest.skip(f"{p} not present (real datasets live in ../shared/datasets)")
    return p


def make_image(path, colour, shape="square", size=(96, 96), bg=(255, 255, 255)):
    """A simple product-like picture: a coloured shape on a plain background."""
    img = Image.new("RGB", size, bg)
    a = np.asarray(img).copy()
    h, w = size[1], size[0]
    yy, xx = np.mgrid[:h, :w]
    if shape == "square":
        m = (abs(yy - h / 2) < h / 4) & (abs(xx - w / 2) < w / 4)
    elif shape == "disc":
        m = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2
    else:  # stripes
        m = (xx // 8) % 2 == 0
    a[m] = colour
    Image.fromarray(a).save(path)
    return path


def demo_table(demo, name: str):
    """A demo CSV (``catalog.csv``, ``interactions.csv``, ``shoppers.csv``) read with plain pandas, ids as strings:
    what the tests check the command line's outputs against, independently of visrec's loaders."""
    import pandas as pd
    return pd.read_csv(demo.dir / name, dtype={"user_id": str, "item_id": str})


def visrec(*args, check=True, env=None, process=None):
    """Run ``visrec ARGS`` and return a ``CompletedProcess`` (returncode, stdout, stderr).

    By default the command runs in this interpreter (``recsys.cli.main``, working directory the repository
    root, stdout/stderr captured, ``SystemExit`` taken as the exit status, an escaped exception as status 1
    with its traceback on stderr), which spares each call the seconds a fresh Python spends importing
    torch. ``process=True`` (implied by ``env``, or for every call with ``VISREC_TEST_PROCESS=1``) runs
    ``python -m recsys.cli`` as a real child process instead: for what only a process shows (exit codes
    seen by a shell, environment variables, output written by C code).
    """
    argv = [str(a) for a in args]
    if process is None:
        process = env is not None or os.environ.get("VISREC_TEST_PROCESS") == "1"
    if process:
        env = dict(os.environ if env is None else env, PYTHONPATH=str(ROOT))
        p = subprocess.run([sys.executable, "-m", "recsys.cli", *argv], capture_output=True, text=True,
                           env=env, cwd=ROOT)
    else:
        p = _visrec_here(argv)
    if check and p.returncode != 0:
        raise AssertionError(f"visrec {' '.join(argv)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p


def _visrec_here(argv):
    import contextlib
    import io
    import traceback

    from recsys.cli import main
    out, err, cwd = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as e:  # argparse's usage errors and --help
                rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, (int, type(None))):
                    print(e.code, file=sys.stderr)
            except Exception:  # what an uncaught exception does to a real process
                traceback.print_exc()
                rc = 1
    finally:
        os.chdir(cwd)
    return subprocess.CompletedProcess(["visrec", *argv], rc, out.getvalue(), err.getvalue())


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


N_ITEMS = 40


def write_jsonl(path, lists: dict):
    with open(path, "w") as f:
        for u, items in lists.items():
            f.write(json.dumps({"user_id": u, "items": [{"item_id": i, "score": 1.0 / (r + 1)}
                                                         for r, i in enumerate(items)]}) + "\n")
    return path


def make_world(seed=0, n_pairs=150):
    """Users come in twins (u-a, u-b) with identical train and test items; items i30..i39 are cold."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for p in range(n_pairs):
        hist = rng.choice(30, rng.integers(0, 8), replace=False)  # some users are new (no history)
        rest = np.setdiff1d(np.arange(N_ITEMS), hist)
        tst = rng.choice(rest, 3, replace=False)
        for twin in "ab":
            u = f"u{p}{twin}"
            train += [(u, f"i{i}", 1_000 + j) for j, i in enumerate(hist)]
            test += [(u, f"i{i}", 2_000 + j) for j, i in enumerate(tst)]
    cols = ["user_id", "item_id", "timestamp"]
    return (Interactions.from_frame(pd.DataFrame(train, columns=cols), source="train.csv"),
            Interactions.from_frame(pd.DataFrame(test, columns=cols), source="test.csv"))


def random_lists(test, rng, k=10):
    users = test.df["user_id"].unique()
    return {u: [f"i{i}" for i in rng.permutation(N_ITEMS)[:k]] for u in users}


def better_lists(test, base, rng, share=0.6):
    """``base`` with one of the user's test items moved to rank 1 for ``share`` of the users."""
    truth = test.df.groupby("user_id")["item_id"].apply(list).to_dict()
    out = {}
    for u, lst in base.items():
        if rng.random() < share:
            t = truth[u][0]
            lst = [t] + [i for i in lst if i != t][:len(lst) - 1]
        out[u] = lst
    return out


def make_shop(tmp_path, n_items=N_ITEMS):
    """A small catalog with real image files and random visual vectors."""
    from features import ItemFeatures
    from recsys.data import Catalog
    (tmp_path / "img").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n_items):
        make_image(tmp_path / "img" / f"i{i}.png", tuple(int(c) for c in rng.integers(0, 255, 3)),
                   ["square", "disc", "stripes"][i % 3], size=(48, 48))
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)],
                                           "image": [f"img/i{i}.png" for i in range(n_items)]}), tmp_path)
    feats = ItemFeatures(rng.standard_normal((n_items, 16)).astype(np.float32), np.ones(n_items, bool))
    return cat, feats

