# Sourced by the scripts: create .venv if missing and install the project with every extra.
# A current pip first: the resolver of older ones (23.x) backtracks for many minutes here.
# VENV, PYTHON and PIN (one more requirement, e.g. 'django==4.2.*') may be set by the caller.
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[all,dev]' ${PIN:+"$PIN"}
