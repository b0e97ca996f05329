#!/usr/bin/env bash
# Every test nabla has, as CI runs them:
#   1. `cargo test --release --features poison-buffers` (every pooled buffer handed out
#      filled with NaN, so an op reading one before writing it fails), with NABLA_PYTHON pointing at a virtual environment that has
#      the real tools its checks call (Keras, TensorFlow, onnxruntime, tbparse, the
#      Kubernetes client); the Slurm test starts a real cluster where slurm-wlm and munge
#      are installed (Debian), and says it skipped where they are not;
#   2. the Python package's tests (python/run_tests.sh: pip install ./python, then pytest).
#
#   bash scripts/test.sh              # the venv is .venv, created when missing
#   NABLA_VENV=/path/to/venv bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${NABLA_VENV:-$PWD/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/requirements.txt
export NABLA_PYTHON="$venv/bin/python"

cargo test --release --features poison-buffers

NABLA_PY_VENV="$venv" bash python/run_tests.sh
