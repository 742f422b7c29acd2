#!/usr/bin/env bash
# The whole test suite: set up .venv (first run) and azurite, lint, then pytest. Servers
# the tests need (moto's S3, gcp-storage-emulator, azurite, all on 127.0.0.1) are started
# and stopped by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
# Azure's emulator, azurite, comes from npm (the GCS emulator and moto are in the venv).
if [ ! -x .cache/azurite/node_modules/.bin/azurite-blob ]; then
    npm install --no-audit --no-fund --silent --prefix .cache/azurite azurite@3
fi
"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest "$@"
