"""Offline evaluation: splits, per-user ranking metrics, model comparison and HTML reports."""

from .splits import Split, cold_item_split, random_split, ratio_split, temporal_split
from .metrics import ranking_metrics, METRICS
from .experiment import Experiment, ExperimentResult

__all__ = ["Split", "cold_item_split", "random_split", "ratio_split", "temporal_split", "ranking_metrics", "METRICS", "Experiment",
           "ExperimentResult"]
