#!/usr/bin/env bash
# Builds ./wheelhouse: the project's wheel and every dependency wheel for the image's Python
# (3.11, manylinux x86_64), so `docker build --build-arg INSTALL_FROM=wheelhouse` needs no
# network. Run from anywhere; reuses wheels already present.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mkdir -p wheelhouse
"$PY" -m pip wheel --no-deps --wheel-dir wheelhouse . >/dev/null
"$PY" -m pip download --dest wheelhouse --only-binary=:all: --python-version 3.11 \
  --implementation cp --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_27_x86_64 --platform manylinux_2_28_x86_64 --platform any \
  "$(ls wheelhouse/discrete_gan-*.whl | head -n1)[train,serve]" >/dev/null
echo "wheelhouse: $(ls wheelhouse | wc -l) wheels, $(du -sh wheelhouse | cut -f1)"
