"""``visrec align``: learn to map typed words into the catalog's image space (search by words)."""

from __future__ import annotations

from .data_source import add_dataset_args, load_catalog_data
from .arg_types import parse_params
from .options import add_embed_args, embed


def add_parser(sub):
    a = sub.add_parser("align", help="learn text -> image alignment from catalog texts and photos (search by words)")
    add_dataset_args(a, interactions=None)
    add_embed_args(a)
    a.add_argument("--text-columns", default="title,category,description",
                   help="catalog columns joined into each item's text (default title,category,description)")
    a.add_argument("--group-column", default=None,
                   help="variant-group column (e.g. product_code): variants count as matches of each other's text")
    a.add_argument("--param", action="append", help="TextAligner key=value (repeatable): text_model, hidden, "
                                                    "epochs, temperature, ...")
    a.add_argument("--out", required=True, help="aligner file (.safetensors; settings in <out>.json)")
    a.set_defaults(func=run)


def item_texts(catalog, columns: str) -> list[str]:
    """Each catalog row's text: the given columns joined ('' where all are empty)."""
    df = catalog.df
    cols = [c.strip() for c in columns.split(",") if c.strip()]
    missing = [c for c in cols if c not in df.columns]
    if missing or not cols:
        raise ValueError(f"catalog has no column(s) {missing or columns!r} for --text-columns "
                         f"(columns: {list(df.columns)})")
    return df[cols].fillna("").astype(str).agg(" ".join, axis=1).str.strip().tolist()


def run(args):
    from features.align import TextAligner
    catalog = load_catalog_data(args)
    texts = item_texts(catalog, args.text_columns)
    if args.embedder == "fused":
        raise ValueError("align maps words into image vectors: use --embedder raw or adapted")
    feats = embed(args, catalog, report_path=None)
    groups = None
    if args.group_column:
        if args.group_column not in catalog.df.columns:
            raise ValueError(f"catalog has no column {args.group_column!r} (columns: {list(catalog.df.columns)})")
        groups = catalog.df[args.group_column].fillna("").astype(str).to_numpy(dtype=object)
    params = {"text_model": args.text_model, **parse_params(args.param)}
    aligner = TextAligner(**params).fit(texts, feats, groups=groups)
    source = str(args.catalog or args.data_dir or args.dataset)
    aligner.save(args.out, card={"catalog": source, "pairs": aligner.n_pairs_})
    print(f"text aligner ({aligner.text_model_}) trained on {aligner.n_pairs_} text/photo pairs -> {args.out}")
