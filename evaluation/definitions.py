"""Plain-language definitions of the comparison's metrics and segments (written to metrics.json,
summary.md and report.html)."""

from __future__ import annotations

#: segment name -> what its users are
SEGMENTS = {
    "all": "all test users",
    "users:light": "returning users with at most the median number of distinct training items",
    "users:heavy": "returning users with more than the median number of distinct training items",
    "users:new": "users with no training interactions",
    "users:returning": "users with at least one training interaction",
    "items:cold": "accuracy on the test items with no training interactions only",
    "items:warm": "accuracy on the test items with training interactions only",
}

#: metric name (without ``@k``) -> its definition
DEFINITIONS = {
    "precision@k": "|top-k ∩ test items| / k (k is the denominator, also for shorter lists)",
    "recall@k": "|top-k ∩ test items| / |test items|",
    "ndcg@k": "binary-gain DCG@k / ideal DCG over min(|test items|, k) hits",
    "map@k": "sum of precision@i at each hit i <= k / min(|test items|, k)",
    "mrr@k": "1 / rank of the first hit within the top k (0 if none)",
    "hitrate@k": "1 if any of the top k is a test item",
    "auc": "P(a test item is ranked above a non-test candidate); listed items rank in list order above "
           "all unlisted candidates, which tie; candidates = catalog items minus the user's training items",
    "coverage@k": "distinct items in all top-k lists / number of catalog items",
    "ild@k": "mean pairwise cosine distance of the visual vectors of the top-k items",
    "novelty@k": "mean -log2(max(training users of the item, 1) / training users) over the top k",
    "arp@k": "mean number of training users of the top-k items (average recommendation popularity)",
}


def metric_cutoff(metric: str) -> int | None:
    """The cut-off of a metric name.

    Parameters
    ----------
    metric : str
        A metric name such as ``"ndcg@10"`` or ``"auc"``.

    Returns
    -------
    int or None
        ``k`` of ``"<metric>@<k>"``; None for a metric without a cut-off.
    """
    return int(metric.rsplit("@", 1)[1]) if "@" in metric else None
