#!/usr/bin/env python3
"""Compare two visrec output trees (baseline vs refactor), number by number.

    python benchmarks/compare_runs.py OLD_DIR NEW_DIR [--tol 0] [--quiet]

* every ``metrics.json`` found (recursively) in both trees, except demo/metrics.json and
  demo/compare/metrics.json: every numeric leaf (per model, plus the split/compare sections),
  ignoring any key path containing "seconds" or "time"; exact equality expected (``--tol`` to
  allow an absolute tolerance). Per file the max abs diff is printed. Non-numeric leaves that
  differ (strings, bools, None) and keys present in only one tree are reported too; a non-timing
  numeric key missing from NEW counts as a difference, keys only in NEW are just noted.
* demo/recommendations.jsonl and demo/similar_items.jsonl: byte comparison (the first differing
  lines are shown).
* demo/metrics.json and demo/compare/metrics.json: every non-timing field (numeric or not) must
  be equal.
* metrics.json files present in only one tree are listed.

Exit status 0 when nothing differs, 1 otherwise (2 for usage errors). Standard library only.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

DEMO_JSONL = ("demo/recommendations.jsonl", "demo/similar_items.jsonl")
DEMO_METRICS = ("demo/metrics.json", "demo/compare/metrics.json")
MISSING = object()


def is_timing(path: tuple) -> bool:
    return any(isinstance(k, str) and ("seconds" in k.lower() or "time" in k.lower()) for k in path)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def leaves(obj, path=()):
    """Yield (path tuple, value) for every leaf; empty dicts/lists are leaves too."""
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            yield from leaves(v, path + (k,))
    elif isinstance(obj, list) and obj:
        for i, v in enumerate(obj):
            yield from leaves(v, path + (i,))
    else:
        yield path, obj


def fmt(path) -> str:
    return "/".join(str(p) for p in path) or "<root>"


def num_diff(a, b) -> float:
    """abs(a - b) with NaN == NaN and inf == inf counted as equal."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return 0.0
        if math.isnan(a) or math.isnan(b):
            return math.inf
        if math.isinf(a) or math.isinf(b):
            return 0.0 if a == b else math.inf
    if a == b:  # exact (also for big ints)
        return 0.0
    return abs(float(a) - float(b))


def compare_json(rel: str, old: dict, new: dict, tol: float, all_fields: bool, out: list) -> bool:
    """Return True when they match. ``all_fields``: non-numeric differences count as differences."""
    lo = {p: v for p, v in leaves(old) if not is_timing(p)}
    ln = {p: v for p, v in leaves(new) if not is_timing(p)}
    ok = True
    max_abs = 0.0
    n_num = 0
    n_num_diff = 0
    lines = []
    for p, a in lo.items():
        b = ln.get(p, MISSING)
        if b is MISSING:
            if is_number(a) or all_fields:
                ok = False
                lines.append(f"  MISSING in NEW: {fmt(p)} (OLD={a!r})")
            else:
                lines.append(f"  note: only in OLD: {fmt(p)} = {a!r}")
            continue
        if is_number(a) and is_number(b):
            n_num += 1
            d = num_diff(a, b)
            max_abs = max(max_abs, d)
            if d > tol or (tol == 0 and d != 0):
                n_num_diff += 1
                ok = False
                lines.append(f"  DIFF {fmt(p)}: OLD={a!r} NEW={b!r} (abs diff {d:.3g})")
        elif a != b or type(a) is not type(b):
            if all_fields or is_number(a) or is_number(b):
                ok = False
                lines.append(f"  DIFF {fmt(p)}: OLD={a!r} NEW={b!r}")
            else:
                lines.append(f"  note: non-numeric field differs: {fmt(p)}: OLD={a!r} NEW={b!r}")
    for p, b in ln.items():
        if p not in lo:
            if all_fields:
                ok = False
                lines.append(f"  EXTRA in NEW: {fmt(p)} = {b!r}")
            else:
                lines.append(f"  note: only in NEW: {fmt(p)} = {b!r}")
    models_old = {k for k, v in old.items() if isinstance(v, dict)} if isinstance(old, dict) else set()
    models_new = {k for k, v in new.items() if isinstance(v, dict)} if isinstance(new, dict) else set()
    status = "OK  " if ok else "FAIL"
    out.append(f"{status} {rel}: {n_num} numeric values compared, {n_num_diff} differ, "
               f"max abs diff {max_abs:.6g}"
               + (f"; sections only in OLD: {sorted(models_old - models_new)}" if models_old - models_new else "")
               + (f"; sections only in NEW: {sorted(models_new - models_old)}" if models_new - models_old else ""))
    out.extend(lines)
    return ok


def compare_bytes(rel: str, old: Path, new: Path, out: list) -> bool:
    a, b = old.read_bytes(), new.read_bytes()
    if a == b:
        out.append(f"OK   {rel}: identical ({len(a)} bytes)")
        return True
    la, lb = a.splitlines(), b.splitlines()
    ndiff = sum(1 for x, y in zip(la, lb) if x != y) + abs(len(la) - len(lb))
    out.append(f"FAIL {rel}: bytes differ ({len(a)} vs {len(b)} bytes, {len(la)} vs {len(lb)} lines, "
               f"{ndiff} lines differ)")
    shown = 0
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            out.append(f"  line {i + 1}:\n    OLD {x[:300]!r}\n    NEW {y[:300]!r}")
            shown += 1
            if shown >= 3:
                break
    # numeric view of the scores: max abs diff over aligned lines with the same ids
    try:
        md, same_ids = 0.0, True
        for x, y in zip(la, lb):
            jx, jy = json.loads(x), json.loads(y)
            for (px, vx), (py, vy) in zip(leaves(jx), leaves(jy)):
                if px != py:
                    same_ids = False
                elif is_number(vx) and is_number(vy):
                    md = max(md, num_diff(vx, vy))
                elif vx != vy:
                    same_ids = False
        out.append(f"  (scores: max abs diff {md:.6g} over aligned entries; ids/order identical: {same_ids})")
    except (ValueError, TypeError):
        pass
    return False


def load(p: Path):
    return json.loads(p.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--tol", type=float, default=0.0, help="absolute tolerance for numbers (default 0: exact)")
    ap.add_argument("--quiet", action="store_true", help="print only the per-file lines and differences")
    args = ap.parse_args(argv)
    old, new = Path(args.old), Path(args.new)
    if not old.is_dir() or not new.is_dir():
        print("error: OLD_DIR and NEW_DIR must be folders", file=sys.stderr)
        return 2
    out: list[str] = []
    ok = True

    def rels(root: Path) -> set:
        return {str(p.relative_to(root)) for p in root.rglob("metrics.json")
                if "cache" not in p.relative_to(root).parts}

    ro, rn = rels(old), rels(new)
    for rel in sorted(ro & rn):
        try:
            jo, jn = load(old / rel), load(new / rel)
        except ValueError as e:
            ok = False
            out.append(f"FAIL {rel}: cannot parse ({e})")
            continue
        ok &= compare_json(rel, jo, jn, args.tol, all_fields=rel in DEMO_METRICS, out=out)
    for rel in sorted(ro - rn):
        out.append(f"note: {rel} only in OLD (not compared)")
    for rel in sorted(rn - ro):
        out.append(f"note: {rel} only in NEW (not compared)")
    for rel in DEMO_METRICS:
        if (old / rel).exists() != (new / rel).exists():
            ok = False
            out.append(f"FAIL {rel}: present in only one tree")
    for rel in DEMO_JSONL:
        po, pn = old / rel, new / rel
        if po.exists() and pn.exists():
            ok &= compare_bytes(rel, po, pn, out)
        elif po.exists() or pn.exists():
            ok = False
            out.append(f"FAIL {rel}: present in only one tree")
        else:
            out.append(f"note: {rel} in neither tree")
    if args.quiet:
        out = [line for line in out if not line.lstrip().startswith("note")]
    print("\n".join(out))
    print("RESULT:", "identical (no differences)" if ok else "DIFFERENCES FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
