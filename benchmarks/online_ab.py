"""Calibration and power of the online A/B report (``visrec compare --events``) on simulated event logs.

* A/A: ``--aa-runs`` seeded runs with both variants at the same click rate, through the whole path
  (events -> attribution -> per-unit outcomes -> Mann-Whitney U + Holm, no bootstrap): the share of
  runs with p < alpha per metric (should be about alpha), and of runs with any Holm-significant
  metric (should be at most about alpha). A subset of ``--aa-boot-runs`` also gets the bootstrap
  CIs: the share whose CTR lift CI excludes 0 (should be about alpha).
* Power: CTR ``--ctr-a`` against ``--ctr-b`` (default 3.0% vs 3.45%, a 15% lift) with N units per arm
  (``--n-per-arm``): the share of ``--power-runs`` runs where the CTR lift is significant after Holm.

    python benchmarks/online_ab.py --out online_ab.json [--aa-runs 1000] [--n-per-arm 2000,5000,10000]

Prints the tables, the CPU and the time taken; writes everything to ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from machine import cpu_name  # benchmarks/machine.py
from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.online import compare_events  # noqa: E402
from evaluation.online_events import TESTED_METRICS  # noqa: E402
from evaluation.online_sim import simulate_events  # noqa: E402


def one_run(task: tuple) -> dict:
    """One seeded experiment: ``(seed, n_units, ctr_a, ctr_b, n_boot, alpha)`` -> its CTR result and p-values."""
    seed, n_units, ctr_a, ctr_b, n_boot, alpha = task
    ev = simulate_events(n_units, {"A": ctr_a, "B": ctr_b}, seed=seed)
    comp = compare_events(ev, n_boot=n_boot, alpha=alpha, random_state=seed)
    rows = {r["metric"]: r for r in comp.tests}
    ctr = rows["ctr"]
    return {"p": {m: rows[m]["p_mannwhitney"] for m in TESTED_METRICS},
            "significant": {m: rows[m]["significant"] for m in TESTED_METRICS},
            "ctr_ci_excludes_0": bool(ctr["ci_low"] > 0 or ctr["ci_high"] < 0) if n_boot else None,
            "srm_failed": comp.srm_failed, "events": comp.counts["events_total"], "rel_lift": ctr["rel_lift"]}


def rate(hits: int, n: int) -> dict:
    """A share with its exact (Clopper-Pearson) 95% interval."""
    ci = binomtest(hits, n).proportion_ci(0.95)
    return {"hits": int(hits), "runs": int(n), "rate": hits / n, "ci95": [ci.low, ci.high]}


def run_all(tasks: list, jobs: int) -> list:
    if jobs <= 1:
        return [one_run(t) for t in tasks]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(one_run, tasks, chunksize=8))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--aa-runs", type=int, default=1000)
    ap.add_argument("--aa-units", type=int, default=4000, help="units per A/A run (both arms)")
    ap.add_argument("--aa-boot-runs", type=int, default=200, help="A/A runs that also get bootstrap CIs")
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--ctr-a", type=float, default=0.030)
    ap.add_argument("--ctr-b", type=float, default=0.0345)
    ap.add_argument("--n-per-arm", default="2000,5000,10000")
    ap.add_argument("--power-runs", type=int, default=300)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    res = {"cpu": cpu_name(), "jobs": args.jobs, "alpha": args.alpha, "args": vars(args)}

    t0 = time.perf_counter()
    aa = run_all([(10_000 + s, args.aa_units, args.ctr_a, args.ctr_a, 0, args.alpha) for s in range(args.aa_runs)],
                 args.jobs)
    boot = run_all([(50_000 + s, args.aa_units, args.ctr_a, args.ctr_a, args.n_boot, args.alpha)
                    for s in range(args.aa_boot_runs)], args.jobs)
    res["aa"] = {"runs": args.aa_runs, "units": args.aa_units, "ctr": args.ctr_a,
                 "mean_events": float(np.mean([r["events"] for r in aa])),
                 "p_below_alpha": {m: rate(sum(r["p"][m] < args.alpha for r in aa), len(aa)) for m in TESTED_METRICS},
                 "any_holm_significant": rate(sum(any(r["significant"].values()) for r in aa), len(aa)),
                 "srm_failed": rate(sum(r["srm_failed"] for r in aa), len(aa)),
                 "ctr_ci_excludes_0": rate(sum(r["ctr_ci_excludes_0"] for r in boot), len(boot)) if boot else None,
                 "seconds": time.perf_counter() - t0}

    res["power"] = []
    for n in [int(x) for x in args.n_per_arm.split(",") if x.strip()]:
        t0 = time.perf_counter()
        runs = run_all([(90_000 + s, 2 * n, args.ctr_a, args.ctr_b, 0, args.alpha) for s in range(args.power_runs)],
                       args.jobs)
        res["power"].append({"n_per_arm": n, "ctr_a": args.ctr_a, "ctr_b": args.ctr_b,
                             "ctr_significant": rate(sum(r["significant"]["ctr"] for r in runs), len(runs)),
                             "ctr_p_below_alpha": rate(sum(r["p"]["ctr"] < args.alpha for r in runs), len(runs)),
                             "mean_rel_lift": float(np.mean([r["rel_lift"] for r in runs])),
                             "mean_events": float(np.mean([r["events"] for r in runs])),
                             "seconds": time.perf_counter() - t0})
    res["seconds"] = time.perf_counter() - t_all
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print_tables(res)
    return 0


def fmt_rate(r: dict) -> str:
    return f"{100 * r['rate']:5.1f}% [{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}] ({r['hits']}/{r['runs']})"


def print_tables(res: dict) -> None:
    aa = res["aa"]
    print(f"A/A: {aa['runs']} runs x {aa['units']} units (CTR {aa['ctr']:.2%}, ~{aa['mean_events']:.0f} events/run), "
          f"alpha {res['alpha']}")
    for m, r in aa["p_below_alpha"].items():
        print(f"  p < alpha, {m:<12} {fmt_rate(r)}")
    print(f"  any Holm-significant   {fmt_rate(aa['any_holm_significant'])}")
    if aa["ctr_ci_excludes_0"]:
        print(f"  CTR CI excludes 0      {fmt_rate(aa['ctr_ci_excludes_0'])} (bootstrap, {res['args']['n_boot']} "
              "resamples)")
    print(f"  SRM check failed       {fmt_rate(aa['srm_failed'])} (threshold 0.001)")
    print(f"Power: CTR {res['power'][0]['ctr_a']:.2%} vs {res['power'][0]['ctr_b']:.2%}" if res["power"] else "")
    print("  units/arm  significant (Holm)               p < alpha (raw)                  mean rel. lift  seconds")
    for p in res["power"]:
        print(f"  {p['n_per_arm']:>9}  {fmt_rate(p['ctr_significant']):<32} {fmt_rate(p['ctr_p_below_alpha']):<32} "
              f"{100 * p['mean_rel_lift']:+13.1f}%  {p['seconds']:7.1f}")
    print(f"CPU: {res['cpu']} ({res['jobs']} processes); total {res['seconds']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
