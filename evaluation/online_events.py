"""Logged widget events to per-unit outcomes for the online A/B report.

Steps, each counted (nothing is dropped silently):

1. :func:`check_events`: the columns and event types are checked, ids normalised (empty string =
   missing), repeated ``event_id`` s dropped.
2. :func:`attribute_events`: the unit is ``user_id`` when present, else ``visitor_id``. An event
   without a variant (a cart or purchase sent by the shop's backend) takes the variant of the other
   events with its ``rec_id``; one with neither id takes its unit the same way. Events still without
   a unit or a variant are excluded; so are all events of a unit seen under more than one variant.
3. :func:`unit_outcomes`: the per-unit counts; exposed units (at least one impression) get the
   outcome metrics of :data:`UNIT_METRICS`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from recsys.data import DataError

#: the event types of the service, in funnel order
EVENT_TYPES = ("impression", "click", "cart", "purchase")
#: columns an event table must have
REQUIRED_COLUMNS = ("type", "rec_id", "variant", "user_id", "visitor_id")
#: per exposed unit: name -> definition (the first is descriptive, the others are tested)
UNIT_METRICS = {
    "impressions": "impression events of the unit",
    "clicks": "click events of the unit (clicks per unit)",
    "ctr": "clicks / impressions of the unit (averaged over units, not pooled)",
    "add_to_cart": "1 if the unit has any cart event, else 0",
    "purchase": "1 if the unit has any purchase event, else 0",
}
#: the metrics compared between variants
TESTED_METRICS = ("ctr", "clicks", "add_to_cart", "purchase")
ID_COLUMNS = ("event_id", "rec_id", "variant", "user_id", "visitor_id")


class UnitOutcomes(NamedTuple):
    """Per-unit outcomes and the bookkeeping of what was left out.

    ``units``: one row per attributed unit (index ``unit``) with ``variant``, ``events``, ``n_<type>``
    per event type and the :data:`UNIT_METRICS` (NaN ``ctr`` for a unit without impressions);
    ``events``: the attributed events (``unit`` and ``variant`` filled in);
    ``counts``: ``{name: int}``, see :func:`attribute_events`.
    """

    units: pd.DataFrame
    events: pd.DataFrame
    counts: dict

    @property
    def exposed(self) -> pd.DataFrame:
        """The units with at least one impression."""
        return self.units[self.units["n_impression"] > 0]


def _ids(s: pd.Series) -> pd.Series:
    """A column of ids as strings, with NaN, None and blank strings as missing."""
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def check_events(events: pd.DataFrame, source: str = "events") -> tuple[pd.DataFrame, int]:
    """Check an event table and normalise it.

    Parameters
    ----------
    events : pandas.DataFrame
        At least the :data:`REQUIRED_COLUMNS`; ``event_id`` (repeats dropped) and ``received_at``
        (order) are used when present.
    source : str
        Names the table in error messages (e.g. its file).

    Returns
    -------
    (DataFrame, int)
        The events with id columns as strings (missing = NA) and ``type`` lower-case, and the number
        of rows dropped as repeated ``event_id``.

    Raises
    ------
    recsys.data.DataError
        Missing columns, no event, or event types outside :data:`EVENT_TYPES`.
    """
    if not isinstance(events, pd.DataFrame):
        raise DataError(f"{source}: expected a table of events, got {type(events).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)} (an event table has "
                        f"{', '.join(REQUIRED_COLUMNS)}, ...; see `visrec events export`)")
    if len(events) == 0:
        raise DataError(f"{source}: no events")
    df = events.copy()
    for c in ID_COLUMNS:
        if c in df.columns:
            df[c] = _ids(df[c])
    df["type"] = _ids(df["type"]).str.lower()
    bad = df["type"].isna() | ~df["type"].isin(EVENT_TYPES)
    if bad.any():
        shown = sorted({str(t) for t in df.loc[bad, "type"].head(1000)})[:5]
        raise DataError(f"{source}: {int(bad.sum())} event(s) of unknown type ({', '.join(shown)}); "
                        f"the types are {', '.join(EVENT_TYPES)}")
    n_dup = 0
    if "event_id" in df.columns:
        dup = df["event_id"].notna() & df.duplicated("event_id")
        n_dup = int(dup.sum())
        df = df[~dup]
    if "received_at" in df.columns:
        order = np.argsort(pd.to_numeric(df["received_at"], errors="coerce").to_numpy(np.float64), kind="stable")
        df = df.iloc[order]
    return df.reset_index(drop=True), n_dup


def _fill_through_rec_id(rec: np.ndarray, val: np.ndarray, n_rec: int) -> tuple[np.ndarray, int, int]:
    """Missing codes (-1) of ``val`` taken from the other events of their rec_id (code ``rec``).

    Returns the filled codes, how many were filled, and the number of rec_ids whose events disagree
    (those fill nothing).
    """
    known = (rec >= 0) & (val >= 0)
    if not known.any():
        return val, 0, 0
    k = int(val.max()) + 1
    pairs = np.unique(rec[known].astype(np.int64) * k + val[known])  # distinct (rec_id, value)
    pair_rec, pair_val = pairs // k, pairs % k
    per_rec = np.bincount(pair_rec, minlength=n_rec)
    single = np.full(n_rec, -1, dtype=np.int64)
    one = per_rec[pair_rec] == 1
    single[pair_rec[one]] = pair_val[one]
    want = (val < 0) & (rec >= 0)
    out = val.astype(np.int64)
    out[want] = single[rec[want]]
    return out, int((out[want] >= 0).sum()), int((per_rec > 1).sum())


def attribute_events(events: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Give every event its unit and variant; leave out (and count) those that cannot be used.

    Parameters
    ----------
    events : pandas.DataFrame
        As returned by :func:`check_events`.

    Returns
    -------
    (DataFrame, dict)
        The usable events with ``unit`` and ``variant`` filled in, and the counts ``variant_from_rec_id``,
        ``unit_from_rec_id``, ``rec_ids_with_several_variants`` (not used to fill variants),
        ``excluded_no_variant`` (events without a variant, even through their rec_id),
        ``excluded_no_unit`` (events with a variant but neither user_id nor visitor_id, even through
        their rec_id), ``contaminated_units`` (units seen under more than one variant) and
        ``contaminated_events`` (their events, excluded).
    """
    rec, recs = pd.factorize(events["rec_id"])
    var, variants = pd.factorize(events["variant"])
    unit, units = pd.factorize(events["user_id"].fillna(events["visitor_id"]))
    var, variant_filled, conflicts = _fill_through_rec_id(rec, var, len(recs))
    unit, unit_filled, _ = _fill_through_rec_id(rec, unit, len(recs))
    no_variant = var < 0
    no_unit = ~no_variant & (unit < 0)
    keep = ~no_variant & ~no_unit
    k = max(len(variants), 1)
    pairs = np.unique(unit[keep] * k + var[keep])  # distinct (unit, variant)
    mixed = np.bincount(pairs // k, minlength=len(units)) > 1
    in_mixed = keep & mixed[np.maximum(unit, 0)]
    used = keep & ~in_mixed
    df = events[used].reset_index(drop=True)
    df["unit"] = np.asarray(units, dtype=object)[unit[used]]
    df["variant"] = np.asarray(variants, dtype=object)[var[used]]
    counts = {"variant_from_rec_id": variant_filled, "unit_from_rec_id": unit_filled,
              "rec_ids_with_several_variants": conflicts, "excluded_no_variant": int(no_variant.sum()),
              "excluded_no_unit": int(no_unit.sum()), "contaminated_units": int(mixed.sum()),
              "contaminated_events": int(in_mixed.sum())}
    return df, counts


def unit_outcomes(events: pd.DataFrame, source: str = "events") -> UnitOutcomes:
    """Per-unit outcomes of an event table (checked, attributed, counted).

    Parameters
    ----------
    events : pandas.DataFrame
        The logged events (see :func:`check_events`).
    source : str
        Names the table in error messages.

    Returns
    -------
    UnitOutcomes
        ``counts`` holds those of :func:`attribute_events` plus ``events_total`` (rows given),
        ``duplicates`` (repeated event_id), ``events_used``, ``units`` (attributed units, the SRM
        count), ``exposed_units`` and ``unexposed_units`` (units without an impression: left out of
        the metrics).
    """
    checked, n_dup = check_events(events, source)
    used, counts = attribute_events(checked)
    code, names = pd.factorize(used["unit"], sort=True)
    kind = pd.Categorical(used["type"], categories=EVENT_TYPES).codes
    by_type = np.bincount(code * len(EVENT_TYPES) + kind, minlength=len(names) * len(EVENT_TYPES))
    by_type = by_type.reshape(len(names), len(EVENT_TYPES))
    variant = np.empty(len(names), dtype=object)
    variant[code] = used["variant"].to_numpy(dtype=object)  # one variant per unit once mixed units are out
    imp, clicks = by_type[:, 0].astype(np.float64), by_type[:, 1].astype(np.float64)
    cols = {"variant": variant, "events": by_type.sum(axis=1),
            **{f"n_{t}": by_type[:, j] for j, t in enumerate(EVENT_TYPES)},
            "impressions": imp, "clicks": clicks, "ctr": np.where(imp > 0, clicks / np.maximum(imp, 1), np.nan),
            "add_to_cart": (by_type[:, 2] > 0).astype(np.float64), "purchase": (by_type[:, 3] > 0).astype(np.float64)}
    units = pd.DataFrame(cols, index=pd.Index(np.asarray(names, dtype=object), name="unit"))
    n_exposed = int((by_type[:, 0] > 0).sum())
    counts = {"events_total": int(len(events)), "duplicates": n_dup, **counts, "events_used": int(len(used)),
              "units": int(len(units)), "exposed_units": n_exposed, "unexposed_units": int(len(units)) - n_exposed}
    return UnitOutcomes(units, used, counts)
