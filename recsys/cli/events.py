"""``visrec events export``: the events a server stored, as Parquet or CSV."""

from __future__ import annotations

from pathlib import Path

from .arg_types import UsageError


def add_parser(sub):
    e = sub.add_parser("events", help="work with the impression/click/cart/purchase events a server stored")
    esub = e.add_subparsers(dest="events_command", required=True)
    x = esub.add_parser("export", help="write the stored events to Parquet or CSV")
    x.add_argument("--store", required=True, help="the server's SQLite file (visrec serve --state; default "
                                                  "MODEL.serve.sqlite beside the model folder)")
    x.add_argument("--out", required=True, help="events.parquet or events.csv")
    x.set_defaults(func=run_export)


def run_export(args):
    from recsys.io import atomic_write_bytes
    from recsys.serve.events import read_events
    out = Path(args.out)
    if out.suffix not in (".parquet", ".csv"):
        raise UsageError(f"--out must end in .parquet or .csv, got {out.name}")
    df = read_events(args.store)
    if out.suffix == ".parquet":
        import io
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(out, buf.getvalue())
    else:
        atomic_write_bytes(out, df.to_csv(index=False).encode("utf-8"))
    counts = df["type"].value_counts().to_dict() if len(df) else {}
    print(f"[events] wrote {len(df)} events to {out} ({', '.join(f'{k}: {v}' for k, v in counts.items()) or 'none'})")
