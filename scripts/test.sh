#!/usr/bin/env bash
# The whole test suite: set up .venv (first run) and azurite, lint, then pytest. Servers
# the tests need (moto's S3, gcp-storage-emulator, azurite, all on 127.0.0.1) are started
# and stopped by the tests themselves. The Django adapter's tests then run again on each
# other supported Django: 4.2 (Python 3.11) and 6.1 (Python 3.12+), each in its own venv.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
. scripts/_debian.sh
# nginx runs in front of the Django test site for the X-Accel-Redirect offload test.
debian_install nginx
# Debian's chromium (driven by Playwright), ffmpeg and ImageMagick for the example apps' browser tests.
. scripts/_browser.sh
# Azure's emulator, azurite, comes from npm (the GCS emulator and moto are in the venv).
if [ ! -x .cache/azurite/node_modules/.bin/azurite-blob ]; then
    npm install --no-audit --no-fund --silent --prefix .cache/azurite azurite@3
fi
"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest "$@"

# A Python of at least 3.12 for Django 6.x: the first that runs, pyenv's included.
python312() {
    local candidate
    for candidate in python3.13 python3.12 ~/.pyenv/versions/3.13*/bin/python3 ~/.pyenv/versions/3.12*/bin/python3; do
        if "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "no Python 3.12+ found for Django 6.1" >&2
    return 1
}
for django in "4.2 python3" "6.1 $(python312)"; do
    set -- $django
    echo "== Django $1 ($("$2" --version))"
    VENV=".venv-django$1" PYTHON="$2" PIN="django==$1.*" . scripts/_venv.sh
    ".venv-django$1/bin/python" -m pytest -q tests/django
done
