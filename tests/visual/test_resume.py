"""kill -9 in the middle of an embedding run, then rerun: nothing stored is lost or duplicated and
at most the batch in flight is recomputed."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

from tests.helpers import ROOT, make_image
from visual import EmbeddingStore, ImageEmbedder

SCRIPT = """
import sys
from pathlib import Path
from visual import ImageEmbedder
paths = sorted(Path(sys.argv[1]).glob('*.png'))
ImageEmbedder(progress=False, batch_size=4, n_jobs=1).embed_paths(paths, store=sys.argv[2])
print('finished')
"""


def _shard_counts(store_dir):
    n = []
    for f in sorted(store_dir.glob("part-*.npz")):
        with np.load(f, allow_pickle=False) as z:
            n.append(len(z["keys"]))
    return n


def test_kill_9_then_resume(tmp_path):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(80):
        make_image(imgs / f"{i:03d}.png", tuple(int(c) for c in rng.integers(0, 255, 3)),
                   ["disc", "square", "stripes"][i % 3])
    store_dir = tmp_path / "store"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(imgs), str(store_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(_shard_counts(store_dir) if store_dir.exists() else []) < 3:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert b"finished" not in proc.stdout.read(), "the run ended before it could be killed"
    before = _shard_counts(store_dir)
    stored = sum(before)
    assert 3 <= len(before) and stored < 80
    emb = ImageEmbedder(progress=False, batch_size=4)
    paths = sorted(imgs.glob("*.png"))
    res = emb.embed_paths(paths, store=store_dir)
    assert res.present.all()
    assert res.n_cached == stored and res.n_computed == 80 - stored  # nothing stored is recomputed
    after = _shard_counts(store_dir)
    assert sum(after) == 80  # no duplicates
    keys = EmbeddingStore(store_dir, emb.signature())
    assert len(keys) == 80
    # the resumed vectors equal a clean run's
    clean = emb.embed_paths(paths)
    np.testing.assert_allclose(res.vectors, clean.vectors, atol=1e-5)
    assert not list(store_dir.glob("*.tmp"))
