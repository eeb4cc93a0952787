"""Image-embedding throughput on real product photos (the H&M sample images).

    python benchmarks/embed_throughput.py [--images ../shared/datasets/hm-sample/images] [--n 512]
        [--backbone efficientnet_lite0] [--device auto] [--batch-size 32] [--decoder auto]
        [--compile] [--repeat 1] [--random-weights]

Prints forward-only images/s (preprocessed tensors already in memory on the device) and
end-to-end images/s (files on disk -> read, hashed, decoded, resized -> normalised vectors
appended to a fresh embedding store), and their ratio. ``--random-weights`` skips loading
pretrained weights (for timing torchvision backbones on a machine without their weights).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample/images"))
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--decoder", default="auto", choices=["auto", "pil", "torchvision"])
    ap.add_argument("--preprocess", default="pad", choices=["pad", "center_crop"])
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--processes", type=int, default=None, help="decoding worker processes (default: auto)")
    ap.add_argument("--repeat", type=int, default=1, help="end-to-end passes (each into a fresh store)")
    ap.add_argument("--random-weights", action="store_true")
    a = ap.parse_args()
    import numpy as np
    import torch
    from visual import ImageEmbedder
    from visual.backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone, strip_classifier

    files = sorted(Path(a.images).rglob("*.jpg"))[: a.n]
    if not files:
        sys.exit(f"no .jpg files under {a.images}")
    backbone = a.backbone
    if a.random_weights and a.backbone != "efficientnet_lite0":
        import torchvision
        m = strip_classifier(torchvision.models.get_model(a.backbone, weights=None)).eval()
        with torch.no_grad():
            dim = int(m(torch.zeros(1, 3, 64, 64)).shape[-1])
        backbone = Backbone(a.backbone, m, dim, 224, IMAGENET_MEAN, IMAGENET_STD, "random")
    emb = ImageEmbedder(backbone, device=a.device, batch_size=a.batch_size, decoder=a.decoder,
                        preprocess=a.preprocess, compile=a.compile, processes=a.processes,
                        progress=False)
    _ = emb.net
    dev = emb.device_
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    # one batch of preprocessed pixels, kept on the device
    batch_files = (files * (a.batch_size // len(files) + 1))[: a.batch_size]
    if emb.decoder_ == "torchvision":
        from visual.batch_decode import decode_batch, resize_batch
        imgs, _ = decode_batch([f.read_bytes() for f in batch_files], dev)
        x = resize_batch(imgs, emb.input_size, emb.preprocess)
    else:
        x = torch.from_numpy(np.stack([emb.decode(f.read_bytes()) for f in batch_files])).to(dev)
    t = time.perf_counter()
    for _ in range(3):  # warm-up (and compilation)
        emb.forward(x)
    sync()
    warm = time.perf_counter() - t
    reps = max(3, len(files) // a.batch_size)
    t = time.perf_counter()
    for _ in range(reps):
        emb.forward(x)
    sync()
    fwd = reps * len(x) / (time.perf_counter() - t)
    rates = []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            res = emb.embed_paths(files, store=d)
            rates.append(len(files) / (time.perf_counter() - t))
    # the first pass also pays one-time costs (decoder handles, file cache, compilation for new shapes)
    e2e = statistics.median(rates[1:] if len(rates) > 1 else rates)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    print(f"device={name} backbone={a.backbone} decoder={emb.decoder_} processes={emb.processes_} compile={a.compile} "
          f"images={len(files)} batch={a.batch_size} warm-up={warm:.1f}s")
    print(f"forward-only: {fwd:9.1f} images/s")
    print(f"end-to-end:   {e2e:9.1f} images/s  (median of passes{' after the first' if len(rates) > 1 else ''}; "
          f"all passes: {', '.join(f'{r:.0f}' for r in rates)}; "
          f"{int(res.present.sum())} embedded, {len(res.errors)} skipped)")
    print(f"ratio end-to-end / forward: {e2e / fwd:.2f}")


if __name__ == "__main__":
    main()
