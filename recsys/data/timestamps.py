"""Timestamps of interaction tables: epoch seconds, milliseconds or microseconds, or dates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ValidationReport

#: events dated later than now + this are refused (clock skew allowance)
FUTURE_SLACK_S = 86400
#: numeric timestamps whose median is above this are milliseconds (1e11 s is the year 5138)
MS_EPOCH_MIN = 1e11
#: ... and above this microseconds (GA4's ``event_timestamp``; 1e14 ms is the year 5138 too)
US_EPOCH_MIN = 1e14
SLASH_DATE = r"^\s*\d{1,2}/\d{1,2}/\d{2,4}"


def parse_timestamps(col: pd.Series, report: ValidationReport | None = None) -> pd.Series:
    """Epoch seconds (float, NaN where unparseable): numbers are taken as epoch seconds (as
    milliseconds when their median is above 1e11, microseconds above 1e14, and ``report`` says so),
    other values are parsed as dates (UTC; ``05/01/2024`` month first, and ``report`` says so)."""
    num = pd.to_numeric(col, errors="coerce")
    median = float(num.median()) if num.notna().any() else 0.0
    if median > US_EPOCH_MIN:
        num = num / 1e6
        if report is not None:
            report.notes.append("numeric timestamps read as microseconds since 1970 (their median is above 1e14)")
    elif median > MS_EPOCH_MIN:
        num = num / 1000.0
        if report is not None:
            report.notes.append("numeric timestamps read as milliseconds since 1970 (their median is above 1e11)")
    out = num.where(num >= 0).round().astype("float64")
    rest = col.notna() & num.isna()
    if rest.any():
        text = col[rest].astype(str)
        dt = pd.to_datetime(text, errors="coerce", utc=True, format="mixed").dt.tz_localize(None)
        secs = dt.to_numpy(dtype="datetime64[s]")  # whole seconds; far-future dates stay representable
        vals = secs.astype("int64").astype("float64")
        vals[np.isnat(secs)] = np.nan
        out[rest] = vals
        if report is not None and text.str.match(SLASH_DATE).any():
            report.notes.append("dates like 05/01/2024 read month first (MM/DD/YYYY); write ISO dates "
                                "(2024-01-05) to avoid the ambiguity")
    return out
