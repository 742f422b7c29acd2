#!/usr/bin/env bash
# The whole test suite: set up .venv (first run), lint, then pytest. Servers the tests
# need (moto's S3 on 127.0.0.1) are started and stopped by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest "$@"
