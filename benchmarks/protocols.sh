#!/usr/bin/env bash
# The three evaluation protocols of the hybrid-models issue, each writing OUT/<name>/metrics.json,
# report.html (and compare/ for the A/B report). Needs ../shared/datasets (MovieLens-1M with
# posters, the H&M sample). About 30 min on a 2-core CPU; the figures are in RESULTS.md.
#
#   bash benchmarks/protocols.sh [OUT]        (default OUT: protocols-out)
set -euo pipefail
OUT=${1:-protocols-out}
DATA=${VISREC_DATA:-../shared/datasets}
ML=$DATA/movielens-1m
HM=$DATA/hm-sample
mkdir -p "$OUT"
# MovieLens-1M recbole-811: ratings >= 3, per-user 8:1:1, train+valid excluded; EASE's lambda chosen on valid
visrec evaluate --dataset movielens-1m --data-dir "$ML" --protocol recbole-811 \
  --models popularity,itemknn,sequence-knn,als,ease,lightfm,vbpr,als-visual,visual,hybrid \
  --param ease.lambda_=800 --param 'hybrid.component_params={"ease":{"lambda_":800}}' --out "$OUT/recbole-811"
# cold items: 20% of the items held out with all their interactions; posters + MiniLM title/genres
visrec evaluate --dataset movielens-1m --data-dir "$ML" --protocol cold-items --embedder fused --text-weight 0.7 \
  --models popularity,als,lightfm,vbpr,als-visual,visual,hybrid --out "$OUT/cold-items-ml1m"
visrec evaluate --dataset hm --data-dir "$HM" --protocol cold-items \
  --models popularity,als,lightfm,visual,als-visual,vbpr,hybrid --out "$OUT/cold-items-hm"
# H&M temporal: the last 8 weeks as test, MAP@12 over all customers who bought in them
visrec evaluate --dataset hm --data-dir "$HM" --protocol temporal \
  --models popularity,recent-popularity,repurchase,als,ease,itemknn,sequence-knn,vbpr,als-visual,visual,hybrid \
  --compare ease,hybrid --out "$OUT/temporal-hm"
