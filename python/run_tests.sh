#!/usr/bin/env bash
# Builds and installs the nabla Python package (pip install ./python, which runs maturin and
# cargo) into a virtual environment with the test dependencies, then runs the Python tests.
#
#   python/run_tests.sh                 # a venv at python/.venv, created when missing
#   NABLA_PY_VENV=/work/venv python/run_tests.sh -k notebooks
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${NABLA_PY_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
"$venv/bin/python" -m pip install -q "$here[test]"
# From tests/, not python/: `python -m pytest` puts its working directory first on sys.path,
# and python/nabla (the sources, without the built extension) would shadow the installed package.
cd "$here/tests"
exec "$venv/bin/python" -m pytest -q -rs "$@"
