"""Agreement of the PIL and batched torchvision (nvjpeg on CUDA) decoding paths.

    python benchmarks/check_decoders.py [--images DIR] [--n 256] [--device auto]

Prints the min / median cosine between the vectors of the same images through both paths.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample/images"))
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    import numpy as np
    from visual import ImageEmbedder
    files = sorted(Path(a.images).rglob("*.jpg"))[: a.n]
    r1 = ImageEmbedder(device=a.device, decoder="pil", batch_size=64, progress=False).embed_paths(files)
    r2 = ImageEmbedder(device=a.device, decoder="torchvision", batch_size=64, progress=False).embed_paths(files)
    ok = r1.present & r2.present
    cos = (r1.vectors[ok] * r2.vectors[ok]).sum(axis=1)
    print(f"{ok.sum()} images: cosine(pil, torchvision) min {cos.min():.4f} median {np.median(cos):.4f}")


if __name__ == "__main__":
    main()
