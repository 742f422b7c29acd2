#!/usr/bin/env bash
# Main job: set up .venv (first run) and run the example on the embedded default
# (a local folder, a memory mount and an in-process S3 on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
"$VENV/bin/python" example_projects/demo.py "$@"
