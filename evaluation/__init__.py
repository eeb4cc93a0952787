"""Offline evaluation: splits, per-user ranking metrics, offline A/B comparison and HTML reports."""

from .splits import Split, leave_last_n, random_split, ratio_split, temporal_split
from .cold_splits import cold_item_split, cold_user_split
from .metrics import (METRICS, auc_from_lists, auc_per_user, average_popularity, catalog_coverage,
                      intra_list_diversity, novelty, ranking_metrics)
from .stats import holm, paired_bootstrap_ci, wilcoxon_pvalue
from .evaldata import EvalData, encode_lists, load_features_npz
from .comparison import Comparison
from .compare import compare_files, compare_lists, read_recommendations
from .experiment import Experiment, ExperimentResult
from .online import OnlineComparison, compare_events
from .rolling import RollingExperiment, RollingResult
from .splits import rolling_temporal_splits

__all__ = ["Split", "cold_item_split", "cold_user_split", "leave_last_n", "random_split", "ratio_split",
           "temporal_split", "ranking_metrics", "METRICS", "auc_from_lists", "auc_per_user", "average_popularity",
           "catalog_coverage", "intra_list_diversity", "novelty", "holm", "paired_bootstrap_ci", "wilcoxon_pvalue",
           "Experiment", "ExperimentResult", "Comparison", "EvalData", "compare_files", "compare_lists",
           "encode_lists", "load_features_npz", "read_recommendations"]
__all__ += ["rolling_temporal_splits", "RollingExperiment", "RollingResult", "compare_events", "OnlineComparison"]
