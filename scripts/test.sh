#!/usr/bin/env bash
# The whole test suite: install the package (builds the Rust extension) with its test
# extras into the active Python (a fresh ./.venv when none is active), then pytest
# and cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install -q '.[test]'
python -m pytest -q -p no:cacheprovider tests
PYO3_PYTHON=$(command -v python) cargo test --workspace -q
