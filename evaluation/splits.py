"""Train/test splits of an interactions table. Each split carries a description stored with results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from recsys.data import Interactions
from recsys.data.holdout import choose_held


@dataclass
class Split:
    """Train and test interactions (and optionally validation ones, excluded from test rankings)."""

    train: Interactions
    test: Interactions
    description: dict = field(default_factory=dict)
    valid: Interactions | None = None


class ShuffledPairs(NamedTuple):
    """The distinct user--item pairs of an interactions table, each user's pairs in random order."""

    pairs: pd.DataFrame  # columns user_id, item_id; in order of first appearance
    rank: np.ndarray  # 0-based position of each pair in its user's random order
    n_items: np.ndarray  # number of distinct items of each pair's user


def shuffle_per_user(df: pd.DataFrame, random_state: int) -> ShuffledPairs:
    """Shuffle each user's distinct items (one uniform draw per pair, ranked within the user).

    Parameters
    ----------
    df : DataFrame
        With columns ``user_id`` and ``item_id`` (repeat events allowed).
    random_state : int

    Returns
    -------
    ShuffledPairs
    """
    pairs = df[["user_id", "item_id"]].drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(random_state)
    draw = pd.Series(rng.random(len(pairs)))
    rank = (draw.groupby(pairs["user_id"], sort=False).rank(method="first") - 1).astype(int).to_numpy()
    n = pairs.groupby("user_id", sort=False)["item_id"].transform("size").to_numpy()
    return ShuffledPairs(pairs, rank, n)


def pair_mask(df: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Which rows of ``df`` belong to one of the distinct user--item ``pairs``.

    Parameters
    ----------
    df : DataFrame
        With columns ``user_id`` and ``item_id``.
    pairs : DataFrame
        Distinct ``(user_id, item_id)`` rows.

    Returns
    -------
    ndarray of bool (len(df),)
    """
    hit = df.merge(pairs[["user_id", "item_id"]].assign(_hit=True), on=["user_id", "item_id"], how="left")["_hit"]
    return hit.notna().to_numpy(dtype=bool)


def draw_held_out(values, fraction: float, random_state: int, *, at_least: int = 0) -> set:
    """Draw ``round(fraction * n)`` (at least ``at_least``) of the ``n`` distinct values at random.

    Parameters
    ----------
    values : array-like
        Compared as strings.
    fraction : float
    random_state : int
    at_least : int

    Returns
    -------
    set of str
    """
    uniq = np.unique(np.asarray(values, dtype=object).astype(str))
    return set(choose_held(uniq, fraction, np.random.default_rng(random_state), at_least=at_least).tolist())


def random_split(interactions: Interactions, test_fraction: float = 0.2, *, random_state: int = 0,
                 min_train: int = 1) -> Split:
    """Per-user random split: each user's distinct items go to test with probability
    ``test_fraction`` (rounded per user), keeping at least ``min_train`` items in train.

    Repeat events of one user--item pair stay on the same side.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    df = interactions.df
    pairs, rank, n = shuffle_per_user(df, random_state)
    n_test = np.floor(n * test_fraction + 0.5).astype(int)
    n_test = np.minimum(n_test, np.maximum(n - min_train, 0))
    is_test = pair_mask(df, pairs[rank < n_test])
    desc = {"protocol": "random", "test_fraction": test_fraction, "random_state": random_state, "min_train": min_train,
            "n_train": int((~is_test).sum()), "n_test": int(is_test.sum())}
    return Split(interactions.subset(~is_test), interactions.subset(is_test), desc)


def temporal_split(interactions: Interactions, *, cut=None, test_days: float | None = None,
                   test_fraction: float | None = None) -> Split:
    """Global temporal split: train on events before ``cut``, test on events at/after it.

    Give one of ``cut`` (epoch seconds or a date string), ``test_days`` (the last N days) or
    ``test_fraction`` (the latest fraction of events).
    """
    if not interactions.has_timestamps:
        raise ValueError("temporal split needs timestamps; the interactions have none")
    ts = interactions.df["timestamp"].to_numpy()
    known = ts >= 0
    if sum(x is not None for x in (cut, test_days, test_fraction)) != 1:
        raise ValueError("give exactly one of cut, test_days or test_fraction")
    if cut is not None:
        cut_s = int(pd.Timestamp(cut, tz="UTC").timestamp()) if isinstance(cut, str) else int(cut)
    elif test_days is not None:
        cut_s = int(ts[known].max() - test_days * 86400) + 1
    else:
        cut_s = int(np.quantile(ts[known], 1 - test_fraction))
    is_test = known & (ts >= cut_s)
    desc = {"protocol": "temporal", "cut": pd.Timestamp(cut_s, unit="s", tz="UTC").isoformat(),
            "n_train": int((~is_test).sum()), "n_test": int(is_test.sum())}
    return Split(interactions.subset(~is_test), interactions.subset(is_test), desc)


def rolling_temporal_splits(interactions: Interactions, folds: int, *, test_days: float | None = None,
                            test_fraction: float | None = None) -> list:
    """Rolling-origin temporal splits: ``folds`` successive cuts, each testing on the window up to the next.

    Fold ``i`` trains on every event before its cut (events without a time included, as in
    :func:`temporal_split`) and tests on the events from its cut to the next fold's cut; the windows do
    not overlap and the last one ends with the data. ``folds=1`` is :func:`temporal_split`.

    Parameters
    ----------
    interactions : Interactions
        With timestamps.
    folds : int
        Number of cuts (>= 1).
    test_days : float, optional
        Length of each test window in days (the last window holds the last ``test_days`` days).
    test_fraction : float, optional
        Share of the timed events in each test window (instead of ``test_days``).

    Returns
    -------
    list of Split
        Oldest cut first; each description names the fold, its cut and the end of its window.
    """
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    if (test_days is None) == (test_fraction is None):
        raise ValueError("give exactly one of test_days or test_fraction")
    if not interactions.has_timestamps:
        raise ValueError("temporal split needs timestamps; the interactions have none")
    ts = interactions.df["timestamp"].to_numpy()
    known = ts >= 0
    if test_days is not None:
        cuts = [int(ts[known].max() - (folds - i) * test_days * 86400) + 1 for i in range(folds)]
        window = {"test_days": test_days}
    else:
        cuts = [int(np.quantile(ts[known], max(1 - (folds - i) * test_fraction, 0.0))) for i in range(folds)]
        window = {"test_fraction": test_fraction}
    iso = [pd.Timestamp(c, unit="s", tz="UTC").isoformat() for c in cuts]
    end = pd.Timestamp(int(ts[known].max()), unit="s", tz="UTC").isoformat()
    out = []
    for i, cut in enumerate(cuts):
        before = known & (ts < cut)
        if not before.any():
            raise ValueError(f"fold {i + 1} of {folds} has no training data: its cut {iso[i]} is at or before the "
                             f"first event; use fewer folds or shorter test windows")
        is_test = known & (ts >= cut) & (ts < cuts[i + 1] if i + 1 < folds else True)
        if not is_test.any():
            raise ValueError(f"fold {i + 1} of {folds} has no test events in its window from {iso[i]}")
        desc = {"protocol": "temporal", "fold": i + 1, "folds": folds, "cut": iso[i],
                "test_end": iso[i + 1] if i + 1 < folds else end, **window,
                "n_train": int((~(known & (ts >= cut))).sum()), "n_test": int(is_test.sum())}
        out.append(Split(interactions.subset(~(known & (ts >= cut))), interactions.subset(is_test), desc))
    return out


def group_holdout(groups, fraction: float, random_state: int = 0) -> np.ndarray:
    """Boolean mask holding out ``fraction`` of the distinct ``groups`` (e.g. products), so that
    members of one group (e.g. colour variants) never sit on both sides."""
    groups = np.asarray(groups, dtype=object)
    held = draw_held_out(groups, fraction, random_state)
    return np.array([str(g) in held for g in groups])


def ratio_split(interactions: Interactions, ratios=(0.8, 0.1, 0.1), *, random_state: int = 0) -> Split:
    """Per-user random train/valid/test split by ratios (the RecBole ``RS`` 8:1:1 protocol).

    Each user's distinct items are shuffled; valid and test get ``int(ratio * n)`` items each,
    plus one each when ``0 < ratio * n < 1`` while train keeps more than one; train gets the rest.
    """
    if len(ratios) != 3 or abs(sum(ratios) - 1) > 1e-6:
        raise ValueError(f"ratios must be three numbers summing to 1, got {ratios}")
    df = interactions.df
    pairs, rank, n = shuffle_per_user(df, random_state)
    cnt_v = np.floor(ratios[1] * n).astype(int)
    cnt_t = np.floor(ratios[2] * n).astype(int)
    cnt_tr = n - cnt_v - cnt_t
    # small users: one item to test, then one to valid, while train keeps more than one
    bump = _small_user_bump(ratios[2], n, cnt_tr)
    cnt_t, cnt_tr = cnt_t + bump, cnt_tr - bump
    bump = _small_user_bump(ratios[1], n, cnt_tr)
    cnt_v, cnt_tr = cnt_v + bump, cnt_tr - bump
    part = np.where(rank < cnt_tr, 0, np.where(rank < cnt_tr + cnt_v, 1, 2))
    side = df.merge(pairs.assign(_part=part), on=["user_id", "item_id"], how="left")["_part"].to_numpy()
    desc = {"protocol": "ratio", "ratios": list(ratios), "random_state": random_state,
            "n_train": int((side == 0).sum()), "n_valid": int((side == 1).sum()), "n_test": int((side == 2).sum())}
    return Split(interactions.subset(side == 0), interactions.subset(side == 2), desc, interactions.subset(side == 1))


def _small_user_bump(ratio: float, n: np.ndarray, cnt_train: np.ndarray) -> np.ndarray:
    """Users whose share ``ratio * n`` rounds down to no item but who can spare one from train."""
    return (0 < ratio * n) & (ratio * n < 1) & (cnt_train > 1)


def leave_last_n(interactions: Interactions, n: int = 1, *, min_train: int = 1) -> Split:
    """Leave-last-n per user: each user's ``n`` most recent distinct items go to test.

    Items are ordered by their latest event (timestamp, then the row's line in the source file);
    without timestamps the file order is used and the description says so. A user keeps at least
    ``min_train`` items in train, so users with ``<= min_train`` items have no test items. All events
    of one user--item pair stay on the same side.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    df = interactions.df
    order = "timestamp" if interactions.has_timestamps else "file order"
    last = (df.assign(_ts=df["timestamp"], _line=df["line"])
            .groupby(["user_id", "item_id"], sort=False, as_index=False)[["_ts", "_line"]].max())
    last = last.sort_values(["user_id", "_ts", "_line"], ascending=[True, False, False], kind="stable")
    rank = last.groupby("user_id", sort=False).cumcount().to_numpy()
    size = last.groupby("user_id", sort=False)["item_id"].transform("size").to_numpy()
    n_test = np.minimum(n, np.maximum(size - min_train, 0))
    test_pairs = last.loc[rank < n_test, ["user_id", "item_id"]]
    is_test = pair_mask(df, test_pairs)
    desc = {"protocol": "leave-last-n", "n": n, "min_train": min_train, "order": order,
            "n_train": int((~is_test).sum()), "n_test": int(is_test.sum()),
            "n_test_users": int(test_pairs["user_id"].nunique())}
    return Split(interactions.subset(~is_test), interactions.subset(is_test), desc)
