"""Candidates and features of the learned ranker (:class:`recsys.models.ranker.RankerRecommender`).

Everything is computed "as of a cut": item statistics from the events before it
(:func:`item_table`), and per (user, item) features from the users' histories at the cut -- their
user--item matrix ``X`` and ages ``R`` (days since each pair's latest event + 1), which is all a
fitted model holds at query time (:func:`candidate_features`). The same functions build the training
rows at past cuts and score the lists at the end of the training data, so training and serving see the
same features.

Candidates per user: their own items (repurchases), the ``n_popular`` best sellers of the last days,
the ``n_trend`` items with the most recent sales of their own plus those inherited from look-alike
photos (new arrivals among them), the ``n_taste`` items nearest their visual taste, and the other
items of each catalog group (e.g. the colour variants of a product) they bought from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .visual_signals import taste_from_similarities, taste_weights, transferred_sales

ITEM_FEATURES = ("sales_7", "sales_28", "sales_all", "sales_decayed", "sales_rank", "first_age", "last_age",
                 "is_new", "transfer", "group_sales", "group_items_sold", "category_share_of_sales")
PAIR_FEATURES = ("own_count", "own_age", "taste", "max_cos", "last_cos", "group_own", "category_share",
                 "history_length", "days_since_last", "from_popular", "from_trend", "from_taste", "cooc", "from_cooc")
FEATURE_NAMES = ITEM_FEATURES + PAIR_FEATURES


@dataclass(frozen=True)
class ItemContext:
    """What the ranker knows of the catalog: L2-normalised item vectors (``(n, 0)`` without images),
    which items have one, and integer codes of each item's group and category (-1: none)."""
    vectors: np.ndarray
    present: np.ndarray
    groups: np.ndarray
    categories: np.ndarray


@dataclass(frozen=True)
class Signals:
    """Fixed settings of the signals the ranker learns to weigh (not learned themselves)."""
    trend_half_life: float = 7.0
    neighbors: int = 5
    temperature: float = 0.1
    taste_half_life: float = 14.0
    taste_temperature: float = 0.05
    n_popular: int = 30
    n_trend: int = 30
    n_taste: int = 30
    n_cooc: int = 20


def _per_item(items, values, n, reduce):
    """Per item: ``reduce`` of ``values`` over its events, -1 without any (the saved table holds no NaN)."""
    out = np.full(n, -1.0, np.float64)
    if len(items):
        seen = np.zeros(n, bool)
        seen[items] = True
        acc = np.full(n, -np.inf if reduce is np.maximum else np.inf)
        reduce.at(acc, items, values)
        out[seen] = acc[seen]
    return out


def _group_sums(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per item: the sum of ``values`` over the other items of its group (0 without a group)."""
    out = np.zeros(len(codes), np.float64)
    ok = codes >= 0
    if ok.any():
        tot = np.bincount(codes[ok], weights=values[ok], minlength=int(codes.max()) + 1)
        out[ok] = tot[codes[ok]] - values[ok]
    return out


def item_table(items: np.ndarray, ages: np.ndarray, weights: np.ndarray, n_items: int, ctx: ItemContext,
               sig: Signals) -> np.ndarray:
    """``(n_items, len(ITEM_FEATURES))`` float32 statistics from events before a cut.

    ``items``, ``ages`` (days before the cut, >= 0), ``weights``: one entry per event."""
    vectors, present, groups, categories = ctx.vectors, ctx.present, ctx.groups, ctx.categories
    w = np.asarray(weights, np.float64)
    cnt = lambda m: np.bincount(items[m], weights=w[m], minlength=n_items)  # noqa: E731
    sales_7, sales_28, sales_all = cnt(ages < 7), cnt(ages < 28), cnt(np.ones(len(items), bool))
    decayed = np.bincount(items, weights=w * np.exp2(-ages / sig.trend_half_life), minlength=n_items)
    rank = np.empty(n_items, np.float64)
    rank[np.argsort(-decayed, kind="stable")] = np.arange(n_items)
    transfer = transferred_sales(vectors, present, decayed.astype(np.float32), neighbors=sig.neighbors,
                                 temperature=sig.temperature) if vectors.shape[1] else np.zeros(n_items)
    cat_share = np.zeros(n_items)
    ok = categories >= 0
    if ok.any() and decayed.sum() > 0:
        per_cat = np.bincount(categories[ok], weights=decayed[ok], minlength=int(categories.max()) + 1)
        cat_share[ok] = per_cat[categories[ok]] / decayed.sum()
    cols = (sales_7, sales_28, sales_all, decayed, rank, _per_item(items, ages, n_items, np.maximum),
            _per_item(items, ages, n_items, np.minimum), (sales_all == 0).astype(float), transfer,
            _group_sums(groups, decayed), _group_sums(groups, (sales_all > 0).astype(float)), cat_share)
    return np.column_stack(cols).astype(np.float32)


def cooccurrence(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    """``items x items`` cosine of co-interaction ("bought together"): users who had both, over the
    geometric mean of each item's users; zero diagonal. From the events before a cut."""
    B = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)), shape=(n_users, n_items))
    B.sum_duplicates()
    B.data[:] = 1
    n = np.asarray(B.sum(axis=0)).ravel()
    C = (B.T @ B).tocsr()
    C.setdiag(0)
    C.eliminate_zeros()
    scale = 1.0 / np.sqrt(np.maximum(n, 1)).astype(np.float32)
    return sp.csr_matrix(sp.diags(scale) @ C @ sp.diags(scale), dtype=np.float32)


def code_matrix(codes: np.ndarray) -> sp.csr_matrix:
    """``items x codes`` 0/1 membership (items with code -1 in no column)."""
    ok = np.flatnonzero(codes >= 0)
    width = int(codes.max()) + 1 if len(ok) else 1
    return sp.csr_matrix((np.ones(len(ok), np.float32), (ok, codes[ok])), shape=(len(codes), width))


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    n = min(int(n), scores.shape[-1])
    return np.argpartition(-scores, n - 1, axis=-1)[..., :n] if n > 0 else np.zeros(scores.shape[:-1] + (0,), int)


def _cosines(S, pos, present, Xb, Rb):
    """Per row: max cosine of every item to the row's items, and to its most recent item(s); ``S``: the
    cosines of the block's history items (row ``pos[item]``) to every item."""
    mx = np.full((Xb.shape[0], S.shape[1]), np.nan, np.float32)
    last = np.full((Xb.shape[0], S.shape[1]), np.nan, np.float32)
    for r in range(Xb.shape[0]):
        a, b = Xb.indptr[r], Xb.indptr[r + 1]
        own, age = Xb.indices[a:b], (Rb.data[a:b] if Rb is not None else np.zeros(b - a))
        keep = present[own]
        if not keep.any():
            continue
        own, age = own[keep], age[keep]
        mx[r] = S[pos[own]].max(axis=0)
        last[r] = S[pos[own[age <= age.min()]]].max(axis=0)
    return mx, last


def _visual_block(vectors, present, Xb, Rb, sig):
    """Taste and max / last cosines of a block of rows, from one product of their history items' vectors
    with every item's."""
    H = np.unique(Xb.indices[present[Xb.indices]]) if Xb.nnz else np.zeros(0, np.int64)
    if not len(H):
        nan = np.full(Xb.shape, np.nan, np.float32)
        return np.zeros(Xb.shape, np.float32), nan, nan
    S = vectors[H] @ vectors.T
    pos = np.full(len(present), -1, np.int64)
    pos[H] = np.arange(len(H))
    W = taste_weights(Xb, Rb, present, sig.taste_half_life)
    taste = taste_from_similarities(W, H, S, present, sig.taste_temperature)
    return (taste, *_cosines(S, pos, present, Xb, Rb))


def candidate_features(X: sp.csr_matrix, R: sp.csr_matrix | None, table: np.ndarray, ctx: ItemContext,
                       cooc: sp.csr_matrix, sig: Signals, allowed: np.ndarray | None = None):
    """Candidates of each row of ``X`` and their features.

    Returns ``(rows, items, F)``: row and item index of every candidate pair and the
    ``(pairs, len(FEATURE_NAMES))`` float32 features. ``cooc``: the :func:`cooccurrence` matrix at the
    cut. ``allowed``: optional boolean mask of the items that may be candidates."""
    vectors, present, groups, categories = ctx.vectors, ctx.present, ctx.groups, ctx.categories
    X = X.tocsr()
    n = X.shape[1]
    R = R.tocsr() if R is not None else None
    G, C = code_matrix(groups), code_matrix(categories)
    decayed = table[:, ITEM_FEATURES.index("sales_decayed")]
    trend = decayed + table[:, ITEM_FEATURES.index("transfer")]
    ok = np.ones(n, bool) if allowed is None else np.asarray(allowed, bool)
    pop = _top(np.where(ok, decayed, -np.inf), sig.n_popular)
    tre = _top(np.where(ok, trend, -np.inf), sig.n_trend)
    from_pop = np.zeros(n, bool)
    from_pop[pop] = True
    from_trend = np.zeros(n, bool)
    from_trend[tre] = True
    use_img = vectors.shape[1] > 0 and present.any()
    step = max(1, int(8e6 // max(n, 1)))
    out_r, out_i, out_f = [], [], []
    for a in range(0, X.shape[0], step):
        Xb = X[a:a + step]
        Rb = R[a:a + step] if R is not None else None
        B = (Xb > 0).astype(np.float32)
        sib = np.asarray(((B @ G) @ G.T).todense(), np.float32)
        own = np.asarray(Xb.todense(), np.float32)
        mask = (own > 0) | (sib > 0) | (from_pop | from_trend)[None, :]
        co = np.asarray((B @ cooc).todense(), np.float32)
        co_ok = np.where(ok[None, :] & (co > 0), co, -np.inf)
        ct = _top(co_ok, sig.n_cooc)
        from_cooc = np.zeros_like(mask)
        rows = np.repeat(np.arange(Xb.shape[0]), ct.shape[1])
        sel = np.isfinite(np.take_along_axis(co_ok, ct, axis=1)).ravel()
        from_cooc[rows[sel], ct.ravel()[sel]] = True
        mask |= from_cooc
        from_taste = np.zeros_like(mask)
        if use_img:
            taste, mx, last = _visual_block(vectors, present, Xb, Rb, sig)
            has = Xb.getnnz(axis=1) > 0
            tt = _top(np.where(ok & present, taste, -np.inf), sig.n_taste)
            rows = np.repeat(np.arange(Xb.shape[0]), tt.shape[1])
            sel = has[rows]
            from_taste[rows[sel], tt.ravel()[sel]] = True
            mask |= from_taste
        else:
            taste = np.zeros_like(own)
            mx = last = np.full_like(own, np.nan)
        mask &= ok[None, :]
        r, i = np.nonzero(mask)
        age = np.asarray(Rb.todense(), np.float32) if Rb is not None else np.zeros_like(own)
        hist = np.asarray(B.sum(axis=1)).ravel()
        recent = np.array([Rb.data[Rb.indptr[j]:Rb.indptr[j + 1]].min() - 1 if Rb is not None and
                           Rb.indptr[j + 1] > Rb.indptr[j] else np.nan for j in range(Xb.shape[0])], np.float32)
        cat_counts = np.asarray((B @ C).todense(), np.float32)
        cat_of = categories[i]
        cat_share = np.where(cat_of >= 0, cat_counts[r, np.maximum(cat_of, 0)] / np.maximum(hist[r], 1), np.nan)
        pair = np.column_stack([
            own[r, i], np.where(own[r, i] > 0, age[r, i] - 1, np.nan), taste[r, i], mx[r, i], last[r, i],
            sib[r, i] - (own[r, i] > 0) * (groups[i] >= 0), cat_share, hist[r], recent[r],
            from_pop[i], from_trend[i], from_taste[r, i], co[r, i], from_cooc[r, i]]).astype(np.float32)
        out_r.append(r + a)
        out_i.append(i)
        out_f.append(np.hstack([table[i], pair]))
    if not out_r:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(FEATURE_NAMES)), np.float32)
    return np.concatenate(out_r), np.concatenate(out_i), np.vstack(out_f)
