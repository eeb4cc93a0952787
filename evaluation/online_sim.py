"""A seeded simulator of the service's widget event logs, for power analysis and tests of the online
A/B report.

Each unit (a signed-in user or an anonymous visitor) is assigned a variant by the ``split`` and gets
one or more recommendation answers (one ``rec_id`` each) showing a few items: one impression per
item with its position. Each impression is clicked with the unit's own click probability, drawn
around its variant's rate (units differ: a Beta distribution with mean ``ctr_by_variant[v]``). A click
may lead to a cart event and a cart to a purchase; those are sent by the shop's backend, so they
carry the ``rec_id`` and the unit's ids but no variant. On top, a share of events is sent twice
(same ``event_id``), some carts/purchases carry a rec_id the log has never seen (unattributable),
and optionally some units show up under a second variant (contamination).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .online_events import EVENT_TYPES


def _assign(n_units: int, variants: list, split, rng) -> np.ndarray:
    """Variant index per unit, drawn with the shares of ``split`` (equal when None)."""
    if split is None:
        p = np.full(len(variants), 1.0 / len(variants))
    else:
        w = np.array([split[v] for v in variants] if isinstance(split, dict) else list(split), np.float64)
        if len(w) != len(variants) or np.any(~(w > 0)):
            raise ValueError(f"split {split!r} must give a positive weight to each of {variants}")
        p = w / w.sum()
    return rng.choice(len(variants), size=n_units, p=p)


def _unit_ctr(ctr: np.ndarray, heterogeneity: float | None, rng) -> np.ndarray:
    """Each unit's click probability: its variant's rate, spread by a Beta(k p, k (1 - p)) when
    ``heterogeneity`` (k) is given."""
    if not heterogeneity:
        return ctr
    return rng.beta(heterogeneity * ctr, heterogeneity * (1 - ctr))


def simulate_events(n_units: int, ctr_by_variant: dict, split=None, *, answers_per_unit: float = 2.0,
                    slots: int = 4, cart_rate: float = 0.2, purchase_rate: float = 0.4,
                    heterogeneity: float | None = 50.0, signed_in: float = 0.3, duplicate_rate: float = 0.01,
                    unattributable_rate: float = 0.002, contaminated_units: int = 0, seed: int = 0) -> pd.DataFrame:
    """Simulate the event log of an online A/B experiment.

    Parameters
    ----------
    n_units : int
        Units (users and visitors) in the experiment.
    ctr_by_variant : {variant: float}
        Mean click probability per impression of each variant's units.
    split : dict or sequence of float, optional
        True assignment shares of the variants (in the order of ``ctr_by_variant``); equal when None.
    answers_per_unit : float
        Mean recommendation answers per unit (1 + Poisson).
    slots : int
        Items shown per answer (one impression each, positions 0 .. slots-1).
    cart_rate, purchase_rate : float
        Probability of a cart after a click, of a purchase after a cart.
    heterogeneity : float or None
        Concentration ``k`` of the per-unit click probability (smaller: more spread); None or 0 gives
        every unit its variant's rate.
    signed_in : float
        Share of units with a ``user_id`` (the others have only a ``visitor_id``).
    duplicate_rate : float
        Share of events logged twice with the same ``event_id`` (a resent beacon).
    unattributable_rate : float
        Extra cart/purchase events per event, with a ``rec_id`` never seen and no variant.
    contaminated_units : int
        Units that also get one impression under another variant.
    seed : int

    Returns
    -------
    pandas.DataFrame
        The columns of ``visrec events export``: ``event_id, type, rec_id, variant, user_id,
        visitor_id, item_id, position, received_at, key_name``, oldest first.
    """
    rng = np.random.default_rng(seed)
    variants = [str(v) for v in ctr_by_variant]
    rates = np.array([ctr_by_variant[v] for v in ctr_by_variant], np.float64)
    unit_var = _assign(n_units, variants, split, rng)
    p_click = _unit_ctr(rates[unit_var], heterogeneity, rng)
    n_ans = 1 + rng.poisson(max(answers_per_unit - 1, 0), n_units)
    ans_unit = np.repeat(np.arange(n_units), n_ans)
    ans_time = rng.uniform(0, 7 * 86400, len(ans_unit))
    imp_ans = np.repeat(np.arange(len(ans_unit)), slots)
    imp_unit = ans_unit[imp_ans]
    position = np.tile(np.arange(slots), len(ans_unit))
    item = rng.integers(0, 5000, len(imp_ans))
    clicked = rng.random(len(imp_ans)) < p_click[imp_unit]
    carted = clicked & (rng.random(len(imp_ans)) < cart_rate)
    bought = carted & (rng.random(len(imp_ans)) < purchase_rate)
    parts = []
    for kind, mask, with_variant in (("impression", slice(None), True), ("click", clicked, True),
                                     ("cart", carted, False), ("purchase", bought, False)):
        idx = np.arange(len(imp_ans))[mask]
        parts.append(pd.DataFrame({"type": kind, "answer": imp_ans[idx], "unit": imp_unit[idx],
                                   "item": item[idx], "position": position[idx],
                                   "variant": unit_var[imp_unit[idx]] if with_variant else -1,
                                   "t": ans_time[imp_ans[idx]] + EVENT_TYPES.index(kind) + position[idx] / 100}))
    if contaminated_units and len(variants) > 1:
        who = rng.choice(n_units, size=min(contaminated_units, n_units), replace=False)
        other = (unit_var[who] + rng.integers(1, len(variants), len(who))) % len(variants)
        first = len(ans_unit) + np.arange(len(who))
        parts.append(pd.DataFrame({"type": "impression", "answer": first, "unit": who, "item": 0, "position": 0,
                                   "variant": other, "t": rng.uniform(0, 7 * 86400, len(who))}))
    df = pd.concat(parts, ignore_index=True)
    n_bad = rng.binomial(len(df), unattributable_rate) if unattributable_rate else 0
    if n_bad:
        bad = pd.DataFrame({"type": rng.choice(["cart", "purchase"], n_bad), "answer": -1 - np.arange(n_bad),
                            "unit": rng.integers(0, n_units, n_bad), "item": 0, "position": 0, "variant": -1,
                            "t": rng.uniform(0, 7 * 86400, n_bad)})
        df = pd.concat([df, bad], ignore_index=True)
    return _as_log(df, variants, n_units, signed_in, duplicate_rate, rng)


def _as_log(df: pd.DataFrame, variants: list, n_units: int, signed_in: float, duplicate_rate: float,
            rng) -> pd.DataFrame:
    """The simulated events as the service's columns, with some events repeated."""
    df = df.sort_values("t", kind="stable").reset_index(drop=True)
    has_user = rng.random(n_units) < signed_in
    unit = df["unit"].to_numpy()
    names = np.array(variants + [None], dtype=object)
    log = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(df))],
        "type": df["type"].to_numpy(),
        "rec_id": [f"r{a}" if a >= 0 else f"r-lost{-a}" for a in df["answer"].to_numpy()],
        "variant": names[df["variant"].to_numpy()],
        "user_id": np.where(has_user[unit], np.char.add("u", unit.astype(str)).astype(object), None),
        "visitor_id": np.char.add("v", unit.astype(str)).astype(object),
        "item_id": np.char.add("i", df["item"].to_numpy().astype(str)).astype(object),
        "position": df["position"].to_numpy(np.int64),
        "received_at": 1.7e9 + df["t"].to_numpy(np.float64),
        "key_name": None,
    })
    n_dup = rng.binomial(len(log), duplicate_rate) if duplicate_rate else 0
    if n_dup:
        log = pd.concat([log, log.iloc[rng.choice(len(log), n_dup, replace=False)]], ignore_index=True)
        log = log.sort_values("received_at", kind="stable").reset_index(drop=True)
    return log
