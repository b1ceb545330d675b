#!/usr/bin/env bash
# Builds a local Debian bookworm base image with Python 3.11 (no registry needed):
# debootstrap a minimal root filesystem, then `docker import` it as discrete-gan-base:bookworm.
# Needs root and a running Docker engine (DOCKER_HOST). Cached in .cache/rootfs.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${BASE_IMAGE:-discrete-gan-base:bookworm}
if docker image inspect "$IMAGE" >/dev/null 2>&1; then echo "base image $IMAGE present"; exit 0; fi
if [ ! -x .cache/rootfs/usr/bin/python3 ]; then
  rm -rf .cache/rootfs
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm .cache/rootfs http://deb.debian.org/debian >/dev/null
fi
tar -C .cache/rootfs -c . | docker import - "$IMAGE" >/dev/null
echo "base image $IMAGE imported"
