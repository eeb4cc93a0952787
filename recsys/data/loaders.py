"""Loaders: generic CSV/Parquet, MovieLens-1M (GroupLens layout + posters), Kaggle H&M layout,
and a bare folder of images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import map_columns
from .errors import DataError
from .tables import Catalog, Interactions

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


#: ids are strings: "NA", "null" or "None" are real ids there; only an empty cell is missing
ID_COLUMNS = ("item_id", "user_id", "customer_id", "article_id")
#: cells read as missing in every other column (pandas' usual tokens)
NA_TOKENS = ("", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "null", "NULL", "None", "<NA>", "#N/A", "#NA")


def record_lines(path: Path, sep: str, n_rows: int, encoding: str = "utf-8") -> np.ndarray | None:
    """First physical line of each data record of a CSV file, or None when every record is one
    line after the header (the usual case: then record ``i`` is on line ``i + 2``). Blank lines and
    quoted newlines shift the numbering; the csv module follows them."""
    import csv
    import gzip
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding=encoding, newline="") as f:
        text = f.read()
    if text.count("\n") - (1 if text.endswith("\n") else 0) == n_rows and "\n\n" not in text:
        return None
    reader = csv.reader(text.splitlines(keepends=True), delimiter=sep)
    next(reader, None)  # header
    starts, prev = [], reader.line_num
    for row in reader:
        if row:
            starts.append(prev + 1)
        prev = reader.line_num
    return np.asarray(starts, np.int64) if len(starts) == n_rows else None


def read_table(path) -> pd.DataFrame:
    """A CSV/TSV/Parquet table with every column read as strings (ids keep leading zeros).

    Id columns keep "NA", "null", "None" as ids (only an empty cell is missing); other columns
    read the usual missing-value tokens as missing. For CSV files the index is the data row's
    position such that ``index + 2`` is its line in the file, also after blank lines or
    quoted newlines."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a table file (.csv, .tsv or .parquet)")
    suffix = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() in (".parquet", ".pq"):
        df = pd.read_parquet(path)
        for col in ("item_id", "user_id", "image"):
            if col in df.columns:
                df[col] = df[col].astype("string")
        return df
    if path.suffix.lower() in (".csv", ".tsv", ".txt") or suffix in (".csv.gz", ".tsv.gz"):
        sep = "\t" if ".tsv" in suffix or path.suffix.lower() == ".tsv" else ","
        try:
            df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
        except pd.errors.ParserError as e:  # pandas names the line
            raise DataError(f"{path}: {e}") from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty (expected a header line and rows)") from None
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}); save the file as UTF-8") from None
        for c in df.columns:
            df[c] = df[c].mask(df[c] == "" if c in ID_COLUMNS else df[c].isin(NA_TOKENS))
        lines = record_lines(path, sep, len(df))
        if lines is not None:
            df.index = pd.Index(lines - 2)
        return df
    raise DataError(f"{path}: unsupported table format {path.suffix!r}; use .csv, .tsv or .parquet")


def load_catalog(path, images_root=None, *, on_error: str = "raise", allow_outside_root: bool = False,
                 columns: dict | None = None) -> Catalog:
    """Load a catalog table (CSV/TSV/Parquet) with ``item_id``, ``image`` and optional metadata.

    ``images_root`` defaults to the folder holding the catalog file; image paths that lead outside
    it are refused (per item, with the reason) unless ``allow_outside_root``. ``columns``
    (``{"item_id": "sku", ...}``) names the table's own columns; common export names
    (:data:`recsys.data.columns.ALIASES`) are recognised without it, each noted in the report.
    """
    path = Path(path)
    notes: list = []
    df = map_columns(read_table(path), "catalog", columns, source=str(path), notes=notes)
    root = Path(images_root) if images_root is not None else path.parent
    cat = Catalog.from_frame(df, root, source=str(path), on_error=on_error, allow_outside_root=allow_outside_root)
    cat.report.notes[:0] = notes
    return cat


def load_interactions(path, *, on_error: str = "raise", event_weights: dict | None = None,
                      columns: dict | None = None) -> Interactions:
    """Load an interactions table (CSV/TSV/Parquet): ``user_id``, ``item_id``, optional
    ``timestamp``, ``weight`` or ``event``.

    ``columns`` (``{"user_id": "customer_id", ...}``) names the table's own columns; common export
    names (H&M's ``customer_id, article_id, t_dat``, GA4's ``user_pseudo_id, event_name,
    event_timestamp``, Shopify's ``Email, Lineitem sku, Created at``, ...) are recognised without it,
    each noted in the report. ``event_weights`` (``{"view_item": 1, "purchase": 5}``) weighs the
    ``event`` column's values (default :data:`recsys.data.EVENT_WEIGHTS`).
    """
    path = Path(path)
    notes: list = []
    df = map_columns(read_table(path), "interactions", columns, source=str(path), notes=notes)
    inter = Interactions.from_frame(df, source=str(path), on_error=on_error, event_weights=event_weights)
    inter.report.notes[:0] = notes
    return inter


def load_folder_catalog(root) -> Catalog:
    """A catalog made of every image file under ``root`` (item id = file name without suffix).

    When two files share a name in different sub-folders, their relative paths (without
    suffix) are used as ids instead.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder of images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{root}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) found")
    rel = [p.relative_to(root) for p in files]
    bad = [p for p in rel if not _utf8(str(p))]
    rel = [p for p in rel if _utf8(str(p))]
    if not rel:
        raise DataError(f"{root}: no image file has a UTF-8 name ({len(bad)} others); rename them")
    stems = [p.stem for p in rel]
    if len(set(stems)) < len(stems):
        stems = [str(p.with_suffix("")) for p in rel]
    df = pd.DataFrame({"item_id": stems, "image": [str(p) for p in rel]})
    catalog = Catalog.from_frame(df, root, source=str(root))
    for p in bad:  # ids and paths are text; such a file is skipped, named with its bytes escaped
        shown = os.fsencode(str(p)).decode("utf-8", "backslashreplace")
        catalog.report.skip(str(root), None, f"file name is not valid UTF-8, rename it: {shown}", shown)
    return catalog


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _read_dat(path: Path, names: list[str]) -> pd.DataFrame:
    """Read a GroupLens ``::``-separated file (latin-1) as strings, validating field counts."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (expected the MovieLens-1M GroupLens layout)")
    lines = path.read_text(encoding="latin-1").splitlines()
    rows = [ln.split("::", len(names) - 1) for ln in lines]
    for i, r in enumerate(rows):
        if len(r) != len(names):
            raise DataError(f"{path}: line {i + 1}: expected {len(names)} '::'-separated fields "
                            f"({', '.join(names)}), got {len(r)}: {lines[i][:80]!r}")
    return pd.DataFrame(rows, columns=names)


def load_movielens_1m(data_dir, *, min_rating: float | None = None, weight: str = "binary",
                      on_error: str = "raise") -> tuple[Catalog, Interactions]:
    """MovieLens-1M in its GroupLens layout (``ratings.dat``, ``movies.dat``) plus ``posters/<MovieID>.jpg``.

    Parameters
    ----------
    min_rating : float, optional
        Keep only ratings >= this (e.g. 3 for the usual "positive" protocol).
    weight : {"binary", "rating"}
        Interaction weight: 1 for every kept rating, or the rating itself.
    """
    data_dir = Path(data_dir)
    movies = _read_dat(data_dir / "movies.dat", ["item_id", "title", "genres"])
    posters = data_dir / "posters"
    has = {p.stem for p in posters.glob("*.jpg")} if posters.is_dir() else set()
    movies["image"] = [f"posters/{m}.jpg" if m in has else None for m in movies["item_id"]]
    movies["category"] = movies["genres"].str.replace("|", " ", regex=False)
    movies["year"] = movies["title"].str.extract(r"\((\d{4})\)\s*$")[0]
    catalog = Catalog.from_frame(movies, data_dir, source=str(data_dir / "movies.dat"))
    ratings = _read_dat(data_dir / "ratings.dat", ["user_id", "item_id", "rating", "timestamp"])
    r = pd.to_numeric(ratings["rating"], errors="coerce")
    bad = np.flatnonzero(r.isna().to_numpy())
    if len(bad) and on_error == "raise":
        i = int(bad[0])
        raise DataError(f"{data_dir / 'ratings.dat'}: line {i + 1}: column 'rating': not a number: "
                        f"{ratings['rating'].iat[i]!r}")
    ratings["weight"] = r if weight == "rating" else r.where(r.isna(), 1.0)
    if weight not in ("binary", "rating"):
        raise ValueError(f"weight must be 'binary' or 'rating', got {weight!r}")
    ratings["rating"] = r
    if min_rating is not None:
        ratings = ratings[(r >= min_rating) | r.isna()]
    inter = Interactions.from_frame(ratings[["user_id", "item_id", "weight", "timestamp"]],
                                    source=str(data_dir / "ratings.dat"), on_error=on_error, first_line=1)
    return catalog, inter


def hm_image_path(article_id: str) -> str:
    """Relative image path of an H&M article in the Kaggle layout."""
    return f"images/{article_id[:3]}/{article_id}.jpg"


def load_hm(data_dir, *, on_error: str = "raise") -> tuple[Catalog, Interactions]:
    """The Kaggle H&M layout: ``transactions_train.csv``, optional/partial ``articles.csv``,
    ``images/<first 3 digits>/<article_id>.jpg``.

    The catalog holds every article that is purchased, listed in ``articles.csv`` or has an
    image; articles missing from ``articles.csv`` keep their photo and have no metadata.
    ``product_code`` (first 7 digits of ``article_id``) groups colour variants of a product.
    """
    data_dir = Path(data_dir)
    tx_path = data_dir / "transactions_train.csv"
    if not tx_path.exists():
        raise FileNotFoundError(f"{tx_path}: no such file (expected the Kaggle H&M layout)")
    tx = read_table(tx_path)
    for col in ("t_dat", "customer_id", "article_id"):
        if col not in tx.columns:
            raise DataError(f"{tx_path}: missing column {col!r} (columns: {list(tx.columns)})")
    inter = Interactions.from_frame(
        pd.DataFrame({"user_id": tx["customer_id"], "item_id": tx["article_id"], "timestamp": tx["t_dat"]}),
        source=str(tx_path), on_error=on_error)
    ids = set(inter.df["item_id"])
    meta = None
    art_path = data_dir / "articles.csv"
    if art_path.exists():
        meta = read_table(art_path).reset_index(drop=True)
        ids |= set(meta["article_id"].dropna())
    img_dir = data_dir / "images"
    on_disk = {p.stem for p in img_dir.glob("*/*.jpg")} if img_dir.is_dir() else set()
    ids |= on_disk
    ids = sorted(ids)
    cat = pd.DataFrame({"item_id": ids})
    cat["image"] = [hm_image_path(a) if a in on_disk else None for a in ids]
    cat["product_code"] = [a[:7] for a in ids]
    if meta is not None:
        m = meta.rename(columns={"article_id": "item_id", "prod_name": "title",
                                 "product_type_name": "category", "detail_desc": "description"})
        m = m.drop(columns=["product_code"], errors="ignore")
        cat = cat.merge(m, on="item_id", how="left")
    catalog = Catalog.from_frame(cat, data_dir, source=str(art_path if meta is not None else img_dir))
    return catalog, inter
