#!/usr/bin/env bash
# Main job: set up .venv and the Debian packages the examples use (first run), then start
# an example on the embedded default (a local folder and an S3 on 127.0.0.1, no account):
#   scripts/demo.sh               the Django site (migrated and seeded; prints the URL)
#   scripts/demo.sh flask         the Flask app
#   scripts/demo.sh walkthrough   the console tour (example_projects/demo.py)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
. scripts/_debian.sh
# ffmpeg makes the sample video (once); ImageMagick makes the gallery's thumbnails.
debian_install ffmpeg imagemagick
exec "$VENV/bin/python" example_projects/run.py "$@"
