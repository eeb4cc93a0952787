"""The library's ``BackboneFineTuner`` on a lent GPU: fine-tune an EfficientNet-Lite backbone's last blocks on the
H&M photos packed by ``hm_pack.py`` (the training side of ``hm_finetune.py``'s splits, or every photo) and score
the dev side: tuned vectors, + the tuned head, + type probabilities (0.5), + gallery augmentation (k = 5).

    python benchmarks/hm_pack.py                       # here: .bench/hm-pack (about 52 MiB for Lite1)
    # on the GPU machine (device tool: carry .bench/hm-pack):
    python3 benchmarks/hm_finetune_gpu.py --configs by-product:21:1e-4:2,by-type:21:1e-4:2
    python3 benchmarks/hm_finetune_gpu.py --pooling multi --configs by-product:21:1e-4:2   # multi-depth vectors

The photos travel as WebP (the machine takes 64 MiB), which costs the frozen network about 0.016 / 0.047 type
precision / variant recall on dev: score the returned weights on the original photos (``ImageEmbedder(weights=)``)
before comparing with CPU figures. Results go to ``$OUT/results.json`` after every step; the trained blocks and
head to ``$OUT/w_<split>_u<N>_lr<lr>_lw<w>[_flips].safetensors`` (float16). Metrics: evaluation.retrieval's
definitions, computed with torch (no faiss there).
"""
import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = ".bench/hm-pack"
OUT = os.environ.get("OUT") or ".bench/hm-finetune-gpu"
T0 = time.perf_counter()
HEAD = {"temperature": 0.1, "hidden": 256, "dropout": 0.4}
RES = {"steps": []}


def log(*a):
    print(f"[{time.perf_counter() - T0:6.1f}s]", *a, flush=True)


def save():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(RES, f, indent=1)


def dec(b, size):
    from visual.decode_worker import decode_image
    return decode_image(b, size, "pad")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", default=".bench/hm-pack", help="the folder hm_pack.py wrote")
    ap.add_argument("--backbone", default="efficientnet_lite1")
    ap.add_argument("--input-size", type=int, default=240)
    ap.add_argument("--pooling", default="avg", choices=["avg", "multi"],
                    help="multi: fine-tune and score multi-depth vectors (visual.multi_depth)")
    ap.add_argument("--configs", default="by-product:21:1e-4:2",
                    help="comma-separated split:unfreeze:lr:patience[:label_weight[:augment]] (split: by-product, "
                         "by-type or all = every photo, nothing scored; augment 1 = random flips)")
    ap.add_argument("--baseline", default="by-product", help="splits scored with the frozen network + a head ('' none)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--budget", type=float, default=420, help="no new config starts after this many seconds")
    ap.add_argument("--limit", type=int, default=0, help="a random subset of the photos (a dry run)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--procs", type=int, default=16, help="decoding processes")
    a = ap.parse_args()
    global HERE
    HERE = a.pack
    sys.path.append(os.path.join(HERE, "pkgs"))  # efficientnet_lite_pytorch, where the machine lacks it
    os.makedirs(OUT, exist_ok=True)
    from features import ItemFeatures
    from features.adapt import VisualAdapter
    from features.contrastive import codes as to_codes
    from features.finetune import BackboneFineTuner
    from features.lite_parts import Front, Tail
    from visual import ImageEmbedder
    dev = torch.device(a.device)
    RES["device"] = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    RES["torch"] = torch.__version__
    m = np.load(os.path.join(HERE, "meta.npz"))
    off, code_s, type_s = m["offsets"], m["codes"].astype(object), m["types"].astype(object)
    dev_masks = {"by-product": m["dev_by_product"], "by-type": m["dev_by_type"]}
    raw = open(os.path.join(HERE, "photos.bin"), "rb").read()
    rows = np.arange(len(code_s))
    if a.limit:
        rows = np.sort(np.random.default_rng(0).permutation(rows)[: a.limit])
    code_s, type_s = code_s[rows], type_s[rows]
    dev_masks = {k: v[rows] for k, v in dev_masks.items()}
    blobs = [raw[off[i]:off[i + 1]] for i in rows]
    with ProcessPoolExecutor(a.procs) as ex:
        pix = np.stack(list(ex.map(partial(dec, size=a.input_size), blobs, chunksize=64)))
    n = len(pix)
    log("decoded", pix.shape)
    gc_all, tc_all = to_codes(code_s), to_codes(type_s)  # '' -> -1
    emb = ImageEmbedder(a.backbone, weights=os.path.join(HERE, f"{a.backbone}-fp16.safetensors"), device=a.device,
                        input_size=a.input_size, pooling=a.pooling, progress=False)
    sig = emb.signature()

    class Cached:  # the embedder, its decoding served from the pixels decoded above
        net = emb.net

        @staticmethod
        def decode(p):
            return pix[int(p)]

        @staticmethod
        def signature():
            return sig

    def embed_all(net):
        net = net.to(dev).eval()
        front, tail = Front(net, 0, emb.net.mean, emb.net.std, a.pooling).to(dev), Tail(net, 0, a.pooling)
        out = np.zeros((n, emb.dim), np.float32)
        with torch.inference_mode():
            for s in range(0, n, 256):
                out[s:s + 256] = tail(*front(torch.from_numpy(pix[s:s + 256]).to(dev))).float().cpu().numpy()
        return out

    def topk_nn(X, k):
        S = X @ X.T
        S.fill_diagonal_(-float("inf"))
        return S.topk(min(k, S.shape[1] - 1), dim=1).indices

    def scores(V, mask):
        """type precision@10 / variant recall@10 over the rows of ``mask`` (evaluation.retrieval's definitions)."""
        Vt = torch.from_numpy(V).to(dev)
        lab = np.flatnonzero(mask & (tc_all >= 0))
        t = torch.from_numpy(tc_all[lab]).to(dev)
        top = topk_nn(Vt[lab], 10)
        tp = (t[top] == t[:, None]).float().mean(1).mean().item()
        idx = np.flatnonzero(mask)
        g = gc_all[idx]
        _, inv, cnt = np.unique(g, return_inverse=True, return_counts=True)
        size = cnt[inv]
        q = (g >= 0) & (size >= 2)
        X = Vt[idx]
        S = X[torch.from_numpy(np.flatnonzero(q)).to(dev)] @ X.T
        S[torch.arange(int(q.sum()), device=dev), torch.from_numpy(np.flatnonzero(q)).to(dev)] = -float("inf")
        top = S.topk(min(10, S.shape[1] - 1), dim=1).indices
        gt = torch.from_numpy(g).to(dev)
        hits = (gt[top] == gt[torch.from_numpy(np.flatnonzero(q)).to(dev)][:, None]).sum(1).float()
        vr = (hits / torch.from_numpy(size[q] - 1).to(dev)).mean().item()
        return {"tp10": round(tp, 4), "vr10": round(vr, 4)}

    def dba(V, mask, k=5, alpha=3.0):
        idx = np.flatnonzero(mask)
        G = torch.from_numpy(V[idx]).to(dev)
        S = G @ G.T
        w, nn = S.topk(min(k, S.shape[1]), dim=1)
        agg = (w.clamp(min=0) ** alpha)[:, :, None] * G[nn]
        out = V.copy()
        out[idx] = torch.nn.functional.normalize(agg.sum(1), dim=1).cpu().numpy()
        return out

    def recipe(V, adapter_fn, mask, key, extra):
        """raw / head / head + type probs / + DBA rows of one step; ``adapter_fn(features)``: a head with
        its type classifier (label_probs_weight 0.5)."""
        row = dict(extra, key=key, raw=scores(V, mask))
        feats = ItemFeatures(V, np.ones(n, bool), signature=sig)
        ad = adapter_fn(feats)
        classifier, ad.classifier_ = ad.classifier_, None
        row["head"] = scores(ad.transform(feats).vectors, mask)
        ad.classifier_ = classifier
        H = ad.transform(feats).vectors
        row["head+lp"] = scores(H, mask)
        row["head+lp+dba5"] = scores(dba(H, mask), mask)
        row["seconds_since_start"] = round(time.perf_counter() - T0, 1)
        RES["steps"].append(row)
        save()
        log(key, {k: v for k, v in row.items() if k not in ("history",)})

    def baseline(split):
        mask = dev_masks[split]
        train = ~mask

        def fit_head(feats):
            t = time.perf_counter()
            ad = VisualAdapter(**HEAD, label_probs_weight=0.5, device=a.device, progress=False).fit(
                feats, groups=np.where(train, code_s, None), labels=np.where(train, type_s, None))
            RES.setdefault("head_fit_seconds", {})[split] = round(time.perf_counter() - t, 1)
            return ad
        recipe(V0, fit_head, mask, f"{split} frozen", {})

    def finetune(split, u, lr=1e-4, patience=2, label_weight=0.5, augment=False):
        mask = dev_masks[split]
        train = np.flatnonzero(~mask)
        ft = BackboneFineTuner(unfreeze=u, epochs=a.epochs, patience=patience, lr=lr, label_weight=label_weight,
                               label_probs_weight=0.5, augment=augment, device=a.device, progress=False, **HEAD)
        ft.fit(Cached, [str(i) for i in train], groups=code_s[train], labels=type_s[train])
        from safetensors.torch import save_file
        sd = {k: v for k, v in ft.net_.state_dict().items()
              if k.startswith("_conv_head") or (k.startswith("_blocks.") and int(k.split(".")[1]) >= ft.cut_)}
        sd.update({f"head.{k}": v for k, v in ft.head_.state_dict().items()})
        name = f"w_{split}_u{u}_lr{lr:g}_lw{label_weight:g}{'_flips' if augment else ''}.safetensors"
        save_file({k: v.half().contiguous() if v.is_floating_point() else v.contiguous() for k, v in sd.items()},
                  os.path.join(OUT, name))
        if split == "all":
            return ft.validation_score_
        V = embed_all(ft.net_)

        def tuned_head(feats):
            ad = VisualAdapter(**HEAD, label_probs_weight=0.5, progress=False)
            ad.head_, ad.in_dim_, ad.input_signature_, ad.classifier_ = ft.head_, emb.dim, sig, ft.classifier_
            return ad
        extra = {"unfreeze": u, "lr": lr, "patience": patience, "label_weight": label_weight, "augment": augment,
                 "validation": round(ft.validation_score_, 4), "epochs_run": len(ft.history_),
                 "frozen_seconds": round(ft.frozen_seconds_, 1), "train_seconds": round(ft.train_seconds_, 1),
                 "history": ft.history_}
        key = f"{split} unfreeze {u} lr {lr:g} p{patience} lw{label_weight:g}" + (" flips" if augment else "")
        recipe(V, tuned_head, mask, key, extra)
        return ft.validation_score_

    V0 = embed_all(emb.net.model.net)
    for split in [s for s in a.baseline.split(",") if s]:
        baseline(split)
    dev_masks["all"] = np.zeros(n, bool)
    for spec in a.configs.split(","):
        split, u, lr, pat, *more = spec.split(":")
        if time.perf_counter() - T0 > a.budget:
            log("budget spent, skipping", spec)
            continue
        try:
            finetune(split, int(u), float(lr), int(pat), float(more[0]) if more else 0.5,
                     len(more) > 1 and more[1] == "1")
        except Exception as e:  # one config's failure must not cost the others
            log(spec, "failed:", repr(e))
            RES["steps"].append({"key": spec, "error": repr(e)})
            save()
    log("done")


if __name__ == "__main__":
    main()
