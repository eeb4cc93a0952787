"""Evaluation protocols as plain settings: the split each one makes, its list length and the model
presets it starts from (what ``visrec evaluate --protocol`` runs)."""

from __future__ import annotations

from dataclasses import dataclass

from .cold_splits import cold_item_split
from .splits import Split, random_split, ratio_split, rolling_temporal_splits, temporal_split

PROTOCOLS = ("random", "temporal", "recbole-811", "cold-items")

#: model settings each protocol starts from (``--param`` overrides them); printed in metrics.json
PROTOCOL_PRESETS = {
    # shop data, next-period purchases: repurchases count, recency matters, and the hybrid
    # learns its blend on the last four weeks of the training data
    "temporal": {
        "hybrid": {"components": ["repurchase", "ease", "visual", "als-visual"],
                   "component_params": {"visual": {"half_life_days": 14}}, "validation": "temporal"},
        "visual": {"half_life_days": 14},
        # chosen on H&M validation folds (--folds 4 --until 2020-06-02), never on the test windows
        "trend-transfer": {"own_weight": 3, "own_half_life_days": 90, "trend_half_life_days": 7, "transfer": 10,
                           "temperature": 0.1, "neighbors": 5, "personal_weight": 0.1, "personal_half_life_days": 14,
                           "taste_temperature": 0.03, "new_slots": 1},
        "trend-repurchase": {"own_weight": 10, "own_half_life_days": 90, "trend_half_life_days": 7},
    },
    # new items only (and never-sold ones): ALS's visual prior places them among the items users bought,
    # the visual-neighbour popularity prior says whether they look like items that sell. Blend weights fixed
    # as chosen on a validation cold split carved out of the training part (see COLD_ITEMS_CHOICE); EASE
    # left out: it cannot score items without history (it only repeated the visual parts here) and its
    # dense inverse exceeds its item guard on H&M's 20,920-article catalog
    "cold-items": {
        "hybrid": {"components": ["als-visual", "visual-popularity"], "weights": [1.0, 0.5],
                   "component_params": {"visual-popularity": {"prior_weight": 1.0}}},
        "visual-popularity": {"prior_weight": 1.0},
    },
}


#: the item vectors each protocol starts from when ``--embedder`` is not given: with catalog text
#: (title/category/description of at least one item) and without; chosen on a validation split carved out
#: of the training part (never on the test split), see :data:`COLD_ITEMS_CHOICE`
PROTOCOL_EMBEDDERS = {
    "cold-items": {"text": ("fused", 0.7), "no_text": ("raw", None),
                   # a dataset whose own validation chose otherwise (H&M: the adapter head shipped for it)
                   "datasets": {"hm": ("adapted", None)}},
}
#: per-dataset model presets of a protocol, over :data:`PROTOCOL_PRESETS` (chosen on that dataset's
#: validation split; see :data:`COLD_ITEMS_CHOICE`)
DATASET_PRESETS = {
    ("cold-items", "hm"): {"hybrid": {"weights": [0.1, 1.0]}},
}
#: why (written to metrics.json with the item vectors used)
COLD_ITEMS_CHOICE = (
    "Chosen on a validation cold split carved out of the training part only (20% of the training items held out "
    "with all their interactions, seed 1; fit on the rest; AUC over every item without history), never on the "
    "test split. MovieLens-1M, posters fused with MiniLM title/genres: text weight 0.7 beat 0.5 and 0.9 for "
    "als-visual (AUC 0.7935 / 0.7913 / 0.7870) and visual-popularity (0.7350 / 0.7272 / 0.7295); the hybrid "
    "als-visual + 0.5 x visual-popularity (prior weight 1-2) 0.799-0.801 against als-visual alone 0.7935. "
    "H&M: the vectors of the adapter head shipped for it beat raw and fused ones (visual-popularity 0.7019 / "
    "0.6576 / 0.6731 on seed 1), and its hybrid weighs als-visual 0.1 against visual-popularity 1 (AUC 0.7024 "
    "and 0.7082 on seeds 1 and 2; the protocol's 1 : 0.5 blend: 0.6734 on seed 1). "
    "Catalogs without any text keep the raw image vectors")


@dataclass(frozen=True)
class EmbedderChoice:
    """The item vectors of a run: ``embedder`` (raw / adapted / fused), the fused ``text_weight``, where the
    choice came from (``"protocol default"`` or ``"command line"``) and why."""

    embedder: str
    text_weight: float
    source: str
    reason: str | None = None

    def to_json(self) -> dict:
        out = {"embedder": self.embedder, "source": self.source}
        if self.embedder == "fused":
            out["text_weight"] = self.text_weight
        if self.reason:
            out["reason"] = self.reason
        return out


def protocol_embedder(protocol: str, has_text: bool, embedder: str | None = None,
                      text_weight: float | None = None, *, default_text_weight: float = 0.3,
                      dataset: str | None = None) -> EmbedderChoice:
    """The item vectors of a run: the caller's ``embedder`` / ``text_weight`` where given, else the protocol's.

    Parameters
    ----------
    protocol : str
    has_text : bool
        Whether the catalog has text (title, category or description) for at least one item.
    embedder : {"raw", "adapted", "fused"}, optional
        Given on the command line (``--embedder``): always used.
    text_weight : float, optional
        Given on the command line (``--text-weight``): always used.
    default_text_weight : float
        The weight of a fused embedder that neither the caller nor the protocol sets.
    dataset : str, optional
        The dataset's name (``--dataset``): its own preset, where the protocol has one, wins.

    Returns
    -------
    EmbedderChoice
    """
    preset = PROTOCOL_EMBEDDERS.get(protocol)
    kind, weight = ("raw", None)
    own = None if preset is None else preset.get("datasets", {}).get(dataset)
    if preset is not None:
        kind, weight = own or preset["text" if has_text else "no_text"]
    if embedder is None:
        w = text_weight if text_weight is not None else (weight if weight is not None else default_text_weight)
        reason = COLD_ITEMS_CHOICE if preset is not None else None
        if preset is not None:
            why = f"the {dataset} preset" if own else f"the catalog has {'text' if has_text else 'no text'}"
            reason = (f"{why}: {kind}"
                      + (f" (text weight {w:g})" if kind == "fused" else "") + f". {reason}")
        return EmbedderChoice(kind, float(w), "protocol default" if preset is not None else "default", reason)
    if text_weight is None:  # a fused embedder asked for by hand gets the protocol's weight when it has one
        text_weight = weight if (weight is not None and embedder == "fused") else default_text_weight
    return EmbedderChoice(embedder, float(text_weight), "command line")


#: the rolling-origin setting recommended on H&M (``--protocol temporal --folds 4``): folds and window days
HM_ROLLING = (4, 28.0)
#: why (written to metrics.json when the H&M window default is used)
HM_ROLLING_REASON = (
    "H&M sample: the single 56-day cut (2020-07-28) has 389 test customers. Windows ending 2020-09-22 hold "
    "236-277 test customers each at 28 days (cuts 2020-06-02, -06-30, -07-28, -08-25), 126-163 at 14 days and "
    "65-90 at 7 days, so 4 x 28 days gives 1,019 (fold, customer) units with enough customers per fold to "
    "read each fold on its own, all cuts in one season; the single cut stays the default so that published "
    "numbers reproduce and a run fits each model once, not four times")


@dataclass(frozen=True)
class ProtocolSettings:
    """What a protocol fixes once the dataset is known (``None`` = not set by the protocol).

    ``test_days`` is the length of each test window when ``folds > 1`` (rolling origin)."""

    k: int
    test_days: float | None
    min_rating: float | None
    exclude_seen: bool
    folds: int = 1
    window_reason: str | None = None


def protocol_settings(protocol: str, dataset: str, *, k: int | None = None, test_days: float | None = None,
                      min_rating: float | None = None, seen: str = "auto",
                      folds: int | None = None) -> ProtocolSettings:
    """The protocol's defaults, overridden by whatever the caller gives.

    ``k``: 12 for the temporal protocol on H&M (the competition's MAP@12), else 10. ``test_days``: the
    last 56 days for the temporal protocol on H&M, or 28-day windows with ``folds > 1`` (see
    :data:`HM_ROLLING_REASON`; ``folds=4`` is recommended there, the default stays one cut).
    ``min_rating``: 3 for recbole-811 on MovieLens-1M (ratings >= 3 are positives). ``seen``: ``"auto"``
    keeps training items in the lists of the temporal protocol (repurchases count) and leaves them out
    otherwise; ``"exclude"``/``"keep"``. ``folds``: rolling-origin cuts of the temporal protocol (default 1).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    if folds is not None and protocol != "temporal":
        raise ValueError(f"folds (rolling-origin cuts) need the temporal protocol, not {protocol!r}")
    folds = 1 if folds is None else int(folds)
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    hm_temporal = protocol == "temporal" and dataset == "hm"
    if k is None:
        k = 12 if hm_temporal else 10
    reason = None
    if test_days is None and hm_temporal:
        test_days = 56.0 if folds == 1 else HM_ROLLING[1]
        reason = HM_ROLLING_REASON if folds > 1 else None
    if min_rating is None and protocol == "recbole-811" and dataset == "movielens-1m":
        min_rating = 3
    exclude_seen = seen == "exclude" or (seen == "auto" and protocol != "temporal")
    return ProtocolSettings(int(k), test_days, min_rating, bool(exclude_seen), folds, reason)


def make_split(protocol: str, interactions, *, test_fraction: float = 0.2, test_days: float | None = None,
               random_state: int = 0) -> Split:
    """The train/test split of ``protocol`` (see :data:`PROTOCOLS`)."""
    if protocol == "recbole-811":
        return ratio_split(interactions, (0.8, 0.1, 0.1), random_state=random_state)
    if protocol == "cold-items":
        return cold_item_split(interactions, test_fraction, random_state=random_state)
    if protocol == "random":
        return random_split(interactions, test_fraction, random_state=random_state)
    if protocol == "temporal":
        if test_days:
            return temporal_split(interactions, test_days=test_days)
        return temporal_split(interactions, test_fraction=test_fraction)
    raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")


def make_splits(interactions, folds: int, *, test_fraction: float = 0.2, test_days: float | None = None) -> list:
    """The rolling-origin splits of the temporal protocol.

    Parameters
    ----------
    interactions : Interactions
    folds : int
    test_fraction : float
        Share of the events in each test window (used without ``test_days``).
    test_days : float, optional
        Days of each test window.

    Returns
    -------
    list of Split
        See :func:`evaluation.splits.rolling_temporal_splits`.
    """
    if test_days:
        return rolling_temporal_splits(interactions, folds, test_days=test_days)
    return rolling_temporal_splits(interactions, folds, test_fraction=test_fraction)


def model_settings(names, protocol: str, params: dict, dataset: str | None = None) -> dict:
    """``{model: {param: value}}``: the protocol's presets, then the dataset's (:data:`DATASET_PRESETS`),
    overridden by ``params`` (same shape)."""
    preset = PROTOCOL_PRESETS.get(protocol, {})
    own = DATASET_PRESETS.get((protocol, dataset), {})
    return {n: {**preset.get(n, {}), **own.get(n, {}), **params.get(n, {})} for n in names}
