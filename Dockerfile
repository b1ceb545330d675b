# discrete-gan: one image for `train` and `serve` (the entrypoint is the CLI).
#
#   docker build -t discrete-gan .                          # online: installs from PyPI
#   scripts/build_wheelhouse.sh && docker build --build-arg INSTALL_FROM=wheelhouse -t discrete-gan .
#   docker build --build-arg VARIANT=gpu --build-arg KERAS_BACKEND=jax -t discrete-gan:gpu .
#
#   docker run -v $PWD/data:/data -v $PWD/registry:/registry discrete-gan train /data/t.csv --name t
#   docker run -p 8000:8000 -v $PWD/registry:/registry discrete-gan          # serve
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# cpu: TensorFlow backend (the default dependency); gpu: JAX with CUDA 12 wheels.
ARG VARIANT=cpu
# wheelhouse: offline install from ./wheelhouse (made on the host); source: pip from PyPI.
ARG INSTALL_FROM=source
ARG KERAS_BACKEND=tensorflow

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    DISCRETE_GAN_REGISTRY=/registry \
    PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md discrete_gan_cli.py ./
COPY discrete_gan ./discrete_gan
COPY training ./training
COPY api ./api
# README.md keeps the wildcard COPY valid when there is no ./wheelhouse (online builds).
COPY README.md wheelhouse* /tmp/wheelhouse/

# hadolint ignore=DL3013
RUN set -eu; \
    python3 -m venv /opt/venv; \
    if [ "$INSTALL_FROM" = wheelhouse ]; then \
        pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse "discrete-gan[train,serve]"; \
    else \
        pip install --no-cache-dir ".[train,serve]"; \
    fi; \
    if [ "$VARIANT" = gpu ]; then pip install --no-cache-dir "jax[cuda12]"; fi; \
    rm -rf /tmp/wheelhouse /src; \
    useradd --create-home --uid 10001 app; \
    mkdir -p /registry /data; \
    chown app:app /registry /data

ENV KERAS_BACKEND=${KERAS_BACKEND}
USER 10001
WORKDIR /home/app
VOLUME ["/registry"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
ENTRYPOINT ["discrete-gan"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
