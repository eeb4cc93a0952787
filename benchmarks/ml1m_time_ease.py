"""``time-ease`` on MovieLens-1M under the ``recbole-811`` protocol, with ratings as confidence weights.

    python benchmarks/ml1m_time_ease.py valid|test [--binary] [--param key=value ...]
        [--data-dir ../shared/datasets/movielens-1m]

The split, exclusions and metrics are ``visrec evaluate --protocol recbole-811``'s (visrec's loader,
``evaluation.protocols.make_split``, ``evaluation.Experiment``); the difference is the interaction
weights: the 1-5 rating of each kept (>= 3) rating, which ``time-ease``'s ``rating_alpha`` turns into
confidence ``1 + alpha (r - 3)`` (``--binary``: 1 for every rating, as ``visrec evaluate`` loads them).

- ``valid``: fit on train, rank all items with train excluded, score the valid part (where settings
  were chosen);
- ``test``: ``Experiment`` (train + valid excluded), exactly what ``visrec evaluate`` runs, with EASE
  (lambda 800, the protocol's anchor) in the same run.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FINAL = {"rating_alpha": 0.25}  # the rest are the model's defaults: lambda 800, gamma 0.5, mu 1, tau 600 s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", choices=["valid", "test"])
    ap.add_argument("--binary", action="store_true")
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/movielens-1m"))
    a = ap.parse_args()
    from machine import cpu_name

    from evaluation import Experiment
    from evaluation.metrics import ranking_metrics
    from evaluation.protocols import make_split, protocol_settings
    from recsys.data import Dataset, load_movielens_1m
    from recsys.models import make_model
    params = {**FINAL, **{k: json.loads(v) for k, v in (p.split("=", 1) for p in a.param)}}
    ps = protocol_settings("recbole-811", "movielens-1m")
    cat, inter = load_movielens_1m(a.data_dir, min_rating=ps.min_rating, weight="binary" if a.binary else "rating")
    split = make_split("recbole-811", inter)
    models = {"ease": make_model("ease", lambda_=800.0), "time-ease": make_model("time-ease", **params)}
    out = {"cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"), "target": a.target, "binary": a.binary,
           "params": params}
    if a.target == "valid":
        train = Dataset(cat, split.train)
        V = train.encode(split.valid)
        users = np.flatnonzero(np.diff(V.indptr) > 0)
        for name, model in models.items():
            t = time.perf_counter()
            model.fit(train)
            fit = time.perf_counter() - t
            idx, _ = model.recommend_index(users, 10, exclude_seen=True)
            m = ranking_metrics(idx, V, users, (10,))
            out[name] = {"recall@10": round(float(m["recall@10"].mean()), 4),
                         "ndcg@10": round(float(m["ndcg@10"].mean()), 4), "fit_seconds": round(fit, 1)}
    else:
        res = Experiment(models, split, cat, None, ks=(10,), exclude_seen=True, new_users="popular").run()
        for name in models:
            out[name] = {k: round(float(v), 4) for k, v in res.means()[name].items()}
            out[name]["fit_seconds"] = res.info[name]["fit_seconds"] if hasattr(res, "info") else None
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
