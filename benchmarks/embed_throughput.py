"""Image-embedding throughput on real product photos (the H&M sample images).

    python benchmarks/embed_throughput.py [--images ../shared/datasets/hm-sample/images] [--n 512]
        [--backbone efficientnet_lite0] [--device auto] [--batch-size 32]

Prints forward-only images/s (preprocessed tensors already in memory) and end-to-end images/s
(files on disk -> decoded -> normalised vectors in a fresh embedding store), and their ratio.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample/images"))
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=32)
    a = ap.parse_args()
    import torch
    from visual import ImageEmbedder
    files = sorted(Path(a.images).rglob("*.jpg"))[: a.n]
    if not files:
        sys.exit(f"no .jpg files under {a.images}")
    emb = ImageEmbedder(a.backbone, device=a.device, batch_size=a.batch_size, progress=False)
    x = np.stack([emb._decode(f.read_bytes()) for f in files[: a.batch_size]])
    emb._forward(x)  # warm-up
    t = time.perf_counter()
    reps = max(1, len(files) // a.batch_size)
    for _ in range(reps):
        emb._forward(x)
    if emb._dev.type == "cuda":
        torch.cuda.synchronize()
    fwd = reps * len(x) / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        res = emb.embed_paths(files, store=d)
        e2e = len(files) / (time.perf_counter() - t)
    print(f"device={emb._dev} backbone={a.backbone} images={len(files)} batch={a.batch_size} "
          f"threads={torch.get_num_threads()}")
    print(f"forward-only: {fwd:8.1f} images/s")
    print(f"end-to-end:   {e2e:8.1f} images/s  ({int(res.ok.sum())} embedded, {len(res.errors)} skipped)")
    print(f"ratio end-to-end / forward: {e2e / fwd:.2f}")


if __name__ == "__main__":
    main()
