#!/usr/bin/env bash
# Every lint CI runs: rustfmt, clippy, ruff (lint + format). Run before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -q -- -D warnings
ruff check python tests bench examples
ruff format --check python tests bench examples
