"""Splits for cold start: items held out with all their interactions (and the candidates users rank
then), and users held out with all (or all but an onboarding history of) theirs."""

from __future__ import annotations

import numpy as np

from recsys.data import Interactions

from .splits import Split, draw_held_out, pair_mask


def cold_item_split(interactions: Interactions, fraction: float = 0.2, *, random_state: int = 0) -> Split:
    """Hold out ``fraction`` of the items with all their interactions: they are cold (no history)
    at training time, and each user is then asked to rank them (the ``cold-items`` protocol)."""
    held = draw_held_out(interactions.df["item_id"].to_numpy(), fraction, random_state)
    is_test = interactions.df["item_id"].astype(str).isin(held).to_numpy()
    desc = {"protocol": "cold-items", "fraction": fraction, "random_state": random_state, "n_cold_items": len(held),
            "n_train": int((~is_test).sum()), "n_test": int(is_test.sum())}
    return Split(interactions.subset(~is_test), interactions.subset(is_test), desc)


#: what the cold-items candidates are (written to metrics.json with their counts)
COLD_CANDIDATES_RULE = ("every item without training interactions: the held-out items and the catalog items "
                        "nobody interacted with at all (never-sold articles), as in a shop's new arrivals")


def cold_item_candidates(train_counts, test_counts) -> tuple[np.ndarray, dict]:
    """The items users rank in the ``cold-items`` protocol, and a summary of them.

    Parameters
    ----------
    train_counts : array-like (n_items,)
        Training interactions (or users) per catalog item.
    test_counts : array-like (n_items,)
        Test interactions (or users) per catalog item.

    Returns
    -------
    candidates : ndarray of int
        Indices of the items without training interactions: the held-out items (which have test
        interactions) and the catalog items without any interaction, which are negatives for every user.
    info : dict
        ``rule``, ``n`` and the two parts' sizes ``held_out`` and ``never_interacted``.
    """
    train_counts, test_counts = np.asarray(train_counts), np.asarray(test_counts)
    cold = train_counts == 0
    info = {"rule": COLD_CANDIDATES_RULE, "n": int(cold.sum()), "held_out": int((cold & (test_counts > 0)).sum()),
            "never_interacted": int((cold & (test_counts == 0)).sum())}
    return np.flatnonzero(cold), info


def cold_user_split(interactions: Interactions, fraction: float = 0.2, *, random_state: int = 0,
                    n_history: int = 0) -> Split:
    """Hold out ``fraction`` of the users with their interactions (the ``cold-users`` protocol).

    With ``n_history=0`` held-out users have no training data at all (pure cold start: only
    systems that serve unknown users, such as popularity or a session-based recommender, can be
    scored, e.g. with ``visrec compare``). With ``n_history > 0`` each held-out user's earliest
    ``n_history`` distinct items (by timestamp, else file order) stay in train as an onboarding
    history and the rest is test.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    if n_history < 0:
        raise ValueError(f"n_history must be >= 0, got {n_history}")
    df = interactions.df
    held = draw_held_out(df["user_id"].to_numpy(), fraction, random_state, at_least=1)
    is_held = df["user_id"].astype(str).isin(held).to_numpy()
    is_test = is_held.copy()
    if n_history:
        first = (df[is_held].groupby(["user_id", "item_id"], sort=False, as_index=False)
                 .agg(_ts=("timestamp", "min"), _line=("line", "min"))
                 .sort_values(["user_id", "_ts", "_line"], kind="stable"))
        keep = first[first.groupby("user_id", sort=False).cumcount().to_numpy() < n_history]
        is_test &= ~pair_mask(df, keep)
    desc = {"protocol": "cold-users", "fraction": fraction, "random_state": random_state, "n_history": n_history,
            "n_cold_users": int(len(held)), "n_train": int((~is_test).sum()), "n_test": int(is_test.sum())}
    return Split(interactions.subset(~is_test), interactions.subset(is_test), desc)
