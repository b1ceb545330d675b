#!/usr/bin/env bash
# Docker smoke test, run by CI as root: install the engine if missing, start it without a
# bridge network, build the image offline (local debootstrap base + host wheelhouse), then
# `train` on a small CSV mounted as a volume and `sample` from the result. Cleans up after
# itself; prints timings; fails with one clear line.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/dgan-docker.XXXXXX)
SOCK="$WORK/docker.sock"
export DOCKER_HOST="unix://$SOCK"
IMAGE=discrete-gan:smoke
T0=$(date +%s)
step() { echo "[docker-smoke +$(( $(date +%s) - T0 ))s] $*"; }
fail() { echo "docker-smoke: error: $*" >&2; exit 1; }

DOCKERD_PID=
cleanup() {
  [ -n "$DOCKERD_PID" ] && kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || fail "must run as root (it starts dockerd)"
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  step "installing docker.io and debootstrap"
  apt-get install -y -q docker.io debootstrap >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q docker.io debootstrap >/dev/null 2>&1; } \
    || fail "cannot install docker.io/debootstrap with apt-get"
fi

step "starting dockerd (no bridge, private data root)"
mkdir -p "$ROOT/.cache/docker"
dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
  --data-root "$ROOT/.cache/docker" --exec-root "$WORK/exec" --pidfile "$WORK/docker.pid" \
  -H "$DOCKER_HOST" >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null 2>&1 || { tail -5 "$WORK/dockerd.log" >&2; fail "dockerd did not start"; }

step "base image"
bash scripts/docker_base.sh || fail "building the base image failed"
step "wheelhouse"
bash scripts/build_wheelhouse.sh || fail "building the wheelhouse failed"
step "docker build"
docker build --network host -q -t "$IMAGE" --build-arg BASE_IMAGE=discrete-gan-base:bookworm \
  --build-arg INSTALL_FROM=wheelhouse . >/dev/null || fail "docker build failed"
docker image ls "$IMAGE" --format 'image size: {{.Size}}'

step "train in a container (data mounted as a volume, no network)"
mkdir -p "$WORK/data" "$WORK/registry"
python3 - "$WORK/data/table.csv" <<'PY'
import random, sys
random.seed(0)
rows = ["colour,size"]
for _ in range(2000):
    c = random.choices(["red", "green", "blue"], [5, 3, 2])[0]
    s = random.choices(["S", "L"], [9, 1] if c == "red" else [2, 8])[0]
    rows.append(f"{c},{s}")
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
chmod -R a+rwX "$WORK/data" "$WORK/registry"
docker run --rm --network none -v "$WORK/data:/data" -v "$WORK/registry:/registry" "$IMAGE" \
  train /data/table.csv --name smoke --epochs 3 --quiet --no-tensorboard \
  || fail "train in the container failed"
[ -f "$WORK/registry/smoke/1/generator.keras" ] || fail "no published model in the registry"

step "sample in a container"
docker run --rm --network none -v "$WORK/data:/data" -v "$WORK/registry:/registry" "$IMAGE" \
  sample smoke -n 1000 --format csv --out /data/sample.csv || fail "sample in the container failed"
lines=$(wc -l < "$WORK/data/sample.csv")
[ "$lines" = 1001 ] || fail "expected 1001 lines in sample.csv, got $lines"
head -1 "$WORK/data/sample.csv" | grep -qx "colour,size" || fail "unexpected CSV header"
step "ok: trained, published and sampled 1000 rows in Docker"
