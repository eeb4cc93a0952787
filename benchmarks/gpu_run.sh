#!/usr/bin/env bash
# The GPU part of the list-job and training-speed benchmarks, as run once on a lent H100/H200
# (device tool). Needs the subsamples exported by
#   python benchmarks/train_speed.py --interactions 50000 --export .bench/ts50k.npz
#   python benchmarks/train_speed.py --interactions 2000000 --export .bench/tsfull.npz
# Each step is capped so one failure cannot eat the run.
set -u
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi -L; python3 -c "import torch; print('torch', torch.__version__)"
run() { echo "== $*"; timeout "${CAP:-150}" python3 "$@" || echo "(failed or timed out: $?)"; }
run benchmarks/list_job.py --skip-real --device cuda --users 1000000 --items 100000 --sample-users 1000000 --repeat 2
run benchmarks/list_job.py --skip-real --device cuda --users 1000000 --items 100000 --sample-users 1000000 --repeat 2 --dtype bfloat16
run benchmarks/train_speed.py --from .bench/ts50k.npz --skip-lightfm --device cuda --vbpr-epochs 20
CAP=200 run benchmarks/train_speed.py --from .bench/tsfull.npz --skip-lightfm --device cuda --vbpr-epochs 20
exit 0
