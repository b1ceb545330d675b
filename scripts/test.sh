#!/usr/bin/env bash
# Runs the lint, then the test suite under TensorFlow and again (less `backend_agnostic`) under JAX.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
python -m ruff check .
status=0
for backend in tensorflow jax; do
  echo "=== KERAS_BACKEND=$backend ==="
  # The JAX pass proves the model code (layers, training, sampling, save/load, the job, the
  # service's inference) under JAX; tests marked `backend_agnostic` (parsing, metrics, argument
  # errors, the web page...) would only repeat the TensorFlow pass, so it leaves them out.
  select=()
  if [ "$backend" = jax ]; then select=(-m "not backend_agnostic"); fi
  KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider ${select[@]+"${select[@]}"} "$@" \
    || status=$?
done
exit "$status"
