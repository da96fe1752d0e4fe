#!/usr/bin/env bash
# Creates (or reuses) a git-ignored virtual environment holding torch==2.9.0 from PyPI, whose
# bundled libtorch the `tch` feature builds and links against. Idempotent: a venv that already
# imports torch 2.9.0 is kept. Prints the exports a build needs.
#
#   scripts/setup-libtorch.sh            # creates .venv-libtorch
#   VENV=/path/to/venv scripts/setup-libtorch.sh
#   TORCH_VERSION=2.11.0 ...             # another version (then build with LIBTORCH_BYPASS_VERSION_CHECK=1)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-$PWD/.venv-libtorch}"
TORCH_VERSION="${TORCH_VERSION:-2.9.0}"
PYTHON="${PYTHON:-python3}"

have_torch() {
    [[ -x "$VENV/bin/python" ]] &&
        "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null
}

if have_torch; then
    echo "==> reusing $VENV (torch $TORCH_VERSION)" >&2
else
    echo "==> creating $VENV with torch==$TORCH_VERSION (several GB)" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION"
    have_torch || { echo "error: torch $TORCH_VERSION did not install into $VENV" >&2; exit 1; }
fi

TORCH_LIB="$("$VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
echo "export VIRTUAL_ENV=$VENV"
echo "export PATH=$VENV/bin:\$PATH"  # torch-sys runs the venv's \`python\`
echo "export LIBTORCH_USE_PYTORCH=1"
echo "export SELFTRAIN_TORCH_LIB=$TORCH_LIB"
