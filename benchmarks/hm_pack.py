"""Pack the H&M sample for a lent GPU machine, whose working tree may carry only 64 MiB: every photo as WebP
(its own size, quality 75 by default), the dev splits of ``hm_finetune.py`` (seed 0), product codes and
categories, the backbone's ImageNet weights in float16 and the network's code (``pkgs/``). Read by
``hm_finetune_gpu.py``.

    python benchmarks/hm_pack.py [--data-dir ../shared/datasets/hm-sample] [--out .bench/hm-pack] \
        [--backbone efficientnet_lite1] [--quality 75]

The photos are the sample's (non-commercial terms): keep the folder out of git (``.bench/`` is ignored).
"""

import argparse
import io
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def webp(job) -> bytes:
    from PIL import Image
    path, quality = job
    out = io.BytesIO()
    Image.open(path).convert("RGB").save(out, "WEBP", quality=quality, method=6)
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample"))
    ap.add_argument("--out", default=".bench/hm-pack")
    ap.add_argument("--backbone", default="efficientnet_lite1")
    ap.add_argument("--quality", type=int, default=75)
    a = ap.parse_args()
    from safetensors.torch import save_file

    from evaluation.splits import group_holdout
    from recsys.data import load_hm
    from visual.backbones import LITE, build_backbone
    if a.backbone not in LITE:
        raise SystemExit(f"--backbone must be one of {', '.join(LITE)}")
    catalog, _ = load_hm(a.data_dir)
    paths, refused = catalog.checked_image_paths()
    if refused or any(p is None for p in paths):
        raise SystemExit(f"{len(refused)} photos refused: {list(refused.items())[:3]}")
    df = catalog.df
    codes = df["product_code"].to_numpy(dtype=object)
    types = df["category"].astype(object).where(df["category"].notna(), None).to_numpy()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor() as ex:
        blobs = list(ex.map(webp, [(p, a.quality) for p in paths], chunksize=256))
    (out / "photos.bin").write_bytes(b"".join(blobs))
    np.savez_compressed(out / "meta.npz", offsets=np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64),
                        codes=np.array([str(c) for c in codes]),
                        types=np.array(["" if t is None else str(t) for t in types]),
                        dev_by_product=group_holdout(codes, 0.3, 0),
                        dev_by_type=group_holdout(np.where(types == None, "", types), 0.3, 0) & (types != None))  # noqa: E711
    import shutil

    import efficientnet_lite_pytorch  # pure Python: the GPU machine's image lacks it
    shutil.copytree(Path(efficientnet_lite_pytorch.__file__).parent, out / "pkgs" / "efficientnet_lite_pytorch",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    net = build_backbone(a.backbone).model.net
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in net.state_dict().items()},
              str(out / f"{a.backbone}-fp16.safetensors"))
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{len(blobs)} photos, {sum(map(len, blobs)) / 2**20:.1f} MiB as WebP q{a.quality}; {out} holds "
          f"{size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
