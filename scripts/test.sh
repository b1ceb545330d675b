#!/usr/bin/env bash
# Runs the lint, then the test suite under TensorFlow and again (less `backend_agnostic`) under JAX.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
python -m ruff check .
# One XLA compilation cache for this run, in a fresh directory: the tests load the same small
# models again and again (services, `generate`, child processes), and under JAX each load would
# compile the same programs anew. Only compile time is saved: every test still runs its code.
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export JAX_COMPILATION_CACHE_DIR="$cache" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
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
