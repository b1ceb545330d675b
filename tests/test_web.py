"""The web page: its endpoints through TestClient, then a real headless Chromium on a real server.

The browser tests need Debian's Chromium (`scripts/browser_setup.sh`) and Playwright from PyPI;
they skip with a reason where either is missing. Screenshots go to a temporary directory; with
DISCRETE_GAN_DOCS_SCREENSHOTS=1 they also replace docs/web-models.png and docs/web-model.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_api import publish, trained_wide
from test_client import uvicorn_server

from api.main import create_app
from api.routers.card import cramers_v
from api.settings import Settings
from discrete_gan import CategoricalGAN
from discrete_gan.registry import Registry
from training.config import JobConfig
from training.demo import demo_table
from training.job import run_training

# The page, its assets, the card files and the browser are the same under either backend; what
# the service computes from its models (seeded draws, equal to the library's) runs under JAX in
# test_api, test_api_e2e and test_client, and `/dependence` is numpy on such a draw. So this file,
# and the demo model its registry trains, run in the TensorFlow pass only (scripts/test.sh).
pytestmark = pytest.mark.backend_agnostic

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEY = "s3cret-key"
# Regenerating the docs' screenshots trains the demo's model (about a minute) instead of a tiny one.
DOCS = os.environ.get("DISCRETE_GAN_DOCS_SCREENSHOTS") == "1"
ROWS = 10_000 if DOCS else 4000
CARD = [
    "marginals.png",
    "error_heatmap.png",
    "temperature.png",
    "losses.png",
    "fidelity.json",
    "model_card.md",
]


@pytest.fixture(scope="module")
def registry(trained_tiny, tmp_path_factory) -> Registry:
    """`clinic`: the demo table trained by the training job (with a model card); `tiny`: a
    model saved by hand (no card); `wide`: one with a 300-label column (`test_api.wide_frame`)."""
    reg = Registry(tmp_path_factory.mktemp("webreg"))
    job = {"epochs": 60, "checkpoint_every": 100}
    if not DOCS:
        small = {"noise_dim": 16, "generator_units": [64], "discriminator_units": [64]}
        job = {"epochs": 20, "checkpoint_every": 100, "model": {**small, "batch_size": 256}}
    config = JobConfig.from_dict(job)
    run_training(demo_table(ROWS), "clinic", reg, config, verbose=0, tensorboard=False)
    publish(reg, "tiny", trained_tiny)
    publish(reg, "wide", trained_wide())
    return reg


@pytest.fixture(scope="module")
def api(registry) -> Iterator[TestClient]:
    app = create_app(Settings(registry=str(registry.root), rescan_interval_s=0))
    with TestClient(app) as client:
        yield client


# ---------------------------------------------------------------- endpoints (no browser)
def test_page_and_assets_are_served_with_a_strict_policy(api):
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for src in ("/web/app.js", "/web/style.css", "/web/favicon.svg"):
        assert src in page.text and api.get(src).status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    assert api.get("/web/config.json").json() == {"api_key_required": False}
    for bad in ("index.html", "..%2Fmain.py", "nope.js"):
        assert api.get(f"/web/{bad}").status_code == 404
    assert "/" not in api.get("/openapi.json").json()["paths"]


def test_model_details_include_training_frequencies(api):
    schema = api.get("/models/clinic").json()["schema"]
    for column in schema:
        assert len(column["frequencies"]) == len(column["categories"])
        assert sum(column["frequencies"]) == pytest.approx(1.0)
    assert schema[0]["name"] == "age_band" and schema[0]["frequencies"][0] > 0.25


def test_card_files_are_allow_listed(api, registry):
    listing = api.get("/models/clinic/card").json()
    assert listing == {"model": "clinic", "version": "1", "files": CARD}
    plot = api.get("/models/clinic/card/marginals.png")
    assert plot.headers["content-type"] == "image/png" and plot.content[:4] == b"\x89PNG"
    path = registry.resolve("clinic").path / "marginals.png"
    assert plot.content == path.read_bytes()
    assert "learned_probabilities" in api.get("/models/clinic/card/fidelity.json").json()
    card = api.get("/models/clinic/card/model_card.md", params={"version": "1"})
    assert card.text.startswith("# Model card: clinic v1")
    for bad in ("generator.keras", "schema.json", "metadata.json", "x.png", "%2E%2E"):
        r = api.get(f"/models/clinic/card/{bad}")
        assert r.status_code == 422 and "marginals.png" in r.text, bad
    assert api.get("/models/clinic/card/..%2F..%2Fschema.json").status_code == 404  # no route
    assert api.get("/models/tiny/card").json()["files"] == []
    missing = api.get("/models/tiny/card/losses.png")
    assert missing.status_code == 404 and "no losses.png" in missing.json()["detail"]
    assert api.get("/models/ghost/card/losses.png").status_code == 404
    assert api.get("/models/clinic/card/losses.png", params={"version": "7"}).status_code == 404


def test_dependence_is_cramers_v_of_the_learned_distribution(api, registry):
    body = api.get("/models/clinic/dependence", params={"n": 5000, "seed": 1}).json()
    columns, matrix = body["columns"], body["matrix"]
    assert body["measure"] == "cramers_v" and columns[0] == "age_band" and not body["truncated"]
    assert len(matrix) == len(columns) == 8
    for i in range(8):
        assert matrix[i][i] == 1.0
        for j in range(8):
            assert matrix[i][j] == matrix[j][i] and 0 <= matrix[i][j] <= 1
    rows = CategoricalGAN.load(registry.resolve("clinic").path).sample(5000, seed=1)
    codes = [pd.factorize(rows[c])[0] for c in columns]
    for i, j in [(0, 4), (2, 3), (1, 6)]:
        assert matrix[i][j] == round(cramers_v(codes[i], codes[j]), 4)
    assert api.get("/models/clinic/dependence", params={"n": 5000, "seed": 1}).json() == body
    assert api.get("/models/clinic/dependence", params={"n": 10}).status_code == 422


def test_cramers_v_on_known_tables():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 20_000)
    assert cramers_v(a, a) == pytest.approx(1.0)
    assert cramers_v(a, rng.integers(0, 3, 20_000)) < 0.02
    assert cramers_v(a, (a + (rng.random(20_000) < 0.5)) % 4) == pytest.approx(0.577, abs=0.02)
    # many labels, independent: the bias correction keeps it near 0 on a finite sample
    # (the plain estimate is about 0.5 here)
    assert cramers_v(rng.integers(0, 5000, 20_000), rng.integers(0, 3, 20_000)) < 0.1
    assert cramers_v(np.zeros(100, int), a[:100]) == 0.0


def test_api_key_guards_data_but_not_the_page(registry):
    app = create_app(Settings(registry=str(registry.root), rescan_interval_s=0, api_key=KEY))
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert client.get("/web/app.js").status_code == 200
        assert client.get("/web/config.json").json() == {"api_key_required": True}
        for path in ("/card", "/card/losses.png", "/dependence"):
            path = f"/models/clinic{path}"
            assert client.get(path).status_code == 401
            assert client.get(path, headers={"X-API-Key": KEY}).status_code == 200


# ---------------------------------------------------------------- a real browser
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/browser_setup.sh (as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A browser tab that records console errors, page errors and requests to other origins."""

    def __init__(self, browser, base: str, shots: Path):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.base, self.shots = base, shots
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", self._request)

    def _request(self, request) -> None:
        if not request.url.startswith((self.base, "blob:", "data:")):
            self.foreign.append(request.url)

    def expected(self, status: int) -> None:
        """Drops the browser's own log line for a response with `status` the test asked for."""
        self.errors = [e for e in self.errors if f"status of {status}" not in e]

    def shot(self, name: str, **kwargs) -> Path:
        path = self.shots / name
        self.page.screenshot(path=path, **kwargs)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def server(registry) -> Iterator[str]:
    with uvicorn_server(registry.root) as base:
        yield base


@pytest.fixture(scope="module")
def key_server(registry) -> Iterator[str]:
    with uvicorn_server(registry.root, api_key=KEY) as base:
        yield base


def _top(height: float) -> dict:
    return {"x": 0, "y": 0, "width": 1280, "height": height}


def _docs_copy(*paths: Path) -> None:
    if DOCS:
        for path in paths:
            shutil.copyfile(path, ROOT / "docs" / path.name)


def test_browse_explore_and_sample(browser, server, tmp_path):
    tab = Page(browser, server, tmp_path)
    page = tab.page
    page.goto(f"{server}/")
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    row = page.locator("table.models tbody tr", has_text="clinic")
    expect(row).to_contain_text(f"{ROWS:,}")
    expect(page.locator("table.models tbody tr", has_text="tiny")).to_be_visible()
    models_png = tab.shot("web-models.png", clip=_top(360))

    page.get_by_role("link", name="clinic").click()
    expect(page).to_have_url(f"{server}/#/models/clinic")
    expect(page.get_by_role("heading", name="clinic", exact=True)).to_be_visible()
    bars = page.locator("table.bars")
    expect(bars).to_have_count(8)
    expect(bars.first.locator("caption")).to_contain_text("age_band")
    expect(bars.first.locator("tbody tr")).to_have_count(4)
    widths = bars.first.locator(".bar.learned").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert len(widths) == 4 and all(w > 0 for w in widths)
    expect(page.locator("table.heat")).to_have_count(2)  # learned dependence + card pair error
    expect(page.locator("figure img")).to_have_count(4)
    page.wait_for_function(
        "[...document.querySelectorAll('figure img')].every(i => i.complete && i.naturalWidth > 0)"
    )

    # conditional explorer: given age_band = 75+, learned P(age_band = 75+) becomes 1
    page.get_by_label("age_band").first.select_option(label="75+")
    first = bars.first
    expect(first.locator("tbody tr", has_text="75+").locator("td.given-text")).to_have_text(
        "100.0%"
    )
    expect(page.get_by_text("P(column = label | age_band = 75+)")).to_be_visible()

    # try it: 12 rows with a condition, then the same as a CSV download
    page.get_by_label("Rows (n)").fill("12")
    page.get_by_label("Seed").fill("5")
    page.locator("#try-form").get_by_label("smoker").select_option(label="True")
    page.get_by_role("button", name="Sample").click()
    table = page.locator("table.rows")
    expect(table.locator("tbody tr")).to_have_count(12)
    expect(table.locator("caption")).to_contain_text("seed 5")
    smoker = table.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert smoker == ["True"] * 12
    bottom = page.locator("#dep-title").evaluate(
        "e => e.parentElement.getBoundingClientRect().bottom + window.scrollY + 16"
    )
    model_png = tab.shot("web-model.png", full_page=True, clip=_top(bottom))
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    lines = Path(download.value.path()).read_text().strip().split("\n")
    assert lines[0].startswith("age_band,smoker,") and len(lines) == 13
    assert all(line.split(",")[1] == "True" for line in lines[1:])

    # an impossible request shows the service's message
    assert tab.errors == []
    page.get_by_label("Rows (n)").fill("100001")
    page.get_by_role("button", name="Sample").click()
    expect(page.locator("#try-form + .error")).to_contain_text(
        "Error 422: n=100001 exceeds the limit of 100000 rows. Use format=csv"
    )
    tab.expected(422)

    # a model without a card, and back to the list
    page.goto(f"{server}/#/models/tiny")
    expect(page.get_by_text("This version has no model card")).to_be_visible()
    expect(page.locator("table.bars")).to_have_count(3)
    page.get_by_role("link", name="Models").first.click()
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    tab.close()
    assert tab.errors == [] and tab.foreign == []
    _docs_copy(models_png, model_png)


def test_a_column_with_many_labels_shows_its_top_labels_and_a_text_picker(
    browser, server, tmp_path
):
    """The page drew every label of a column as bars and as <option>s: 100k labels made
    100k-option selects and tables. Now: the top 50 and one "other" row, and a text field
    with suggestions (a datalist) to condition on any label."""
    expect = pytest.importorskip("playwright.sync_api").expect
    tab = Page(browser, server, tmp_path)
    page = tab.page
    page.goto(f"{server}/#/models/wide")
    bars = page.locator("table.bars")
    expect(bars).to_have_count(3)
    code = bars.first
    expect(code.locator("caption")).to_contain_text("300 labels · TVD vs data ≥")
    expect(code.locator("tbody tr")).to_have_count(51)
    expect(code.locator("tbody tr").first.locator("th")).to_have_text("c000")
    expect(code.locator("tbody tr").last.locator("th")).to_have_text("other (250 labels)")
    widths = (
        code.locator("tbody tr")
        .last.locator(".bar")
        .evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    )
    assert len(widths) == 2 and all(w > 0 for w in widths)  # data and learned "other" mass
    hundred = bars.nth(1)  # 100 labels: the top 50 and "other (50 labels)", as before
    expect(hundred.locator("tbody tr").last.locator("th")).to_have_text("other (50 labels)")
    # no select of more than 50 labels (+ "any"); the 300-label column gets a text field
    sizes = page.locator("select").evaluate_all("els => els.map(e => e.options.length)")
    assert sizes and max(sizes) <= 51
    picker = page.locator("#given-0")
    expect(picker).to_have_attribute("type", "text")
    expect(page.locator("#given-0-labels option")).to_have_count(50)
    expect(page.locator("#given-0-labels option").first).to_have_attribute("value", "c000")

    # condition on a typed label: P(code = c000 | code = c000) = 1, nothing left for "other"
    picker.fill("c000")
    picker.press("Tab")
    expect(code.locator("tbody tr", has_text="c000").locator("td.given-text")).to_have_text(
        "100.0%"
    )
    expect(code.locator("tbody tr").last.locator("td.given-text")).to_have_text("0.0%")
    picker.fill("no-such-label")
    picker.press("Tab")
    expect(page.locator("#probs-title ~ .error")).to_contain_text("Unknown label 'no-such-label'")
    tab.expected(422)

    # sample rows under a typed condition (a label outside the suggestions too)
    page.get_by_label("Rows (n)").fill("7")
    page.locator("#cond-0").fill("c123")
    page.get_by_role("button", name="Sample").click()
    table = page.locator("table.rows")
    expect(table.locator("tbody tr")).to_have_count(7)
    assert table.locator("tbody tr td:nth-child(2)").all_inner_texts() == ["c123"] * 7
    tab.shot("web-wide.png", full_page=True)
    tab.close()
    assert tab.errors == [] and tab.foreign == []


def test_api_key_is_asked_for_and_a_wrong_one_is_explained(browser, key_server, tmp_path):
    expect = pytest.importorskip("playwright.sync_api").expect
    tab = Page(browser, key_server, tmp_path)
    page = tab.page
    page.goto(f"{key_server}/")
    expect(page.get_by_role("heading", name="API key")).to_be_visible()
    expect(page.locator("table.models")).to_have_count(0)

    page.get_by_role("textbox", name="API key").fill("wrong")
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#key-error")).to_contain_text("The API key was rejected")
    tab.shot("web-wrong-key.png")
    tab.expected(401)
    assert tab.errors == []

    page.get_by_role("textbox", name="API key").fill(KEY)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("table.models tbody tr", has_text="clinic")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('discrete-gan.api-key')") == KEY
    page.get_by_role("link", name="clinic").click()
    expect(page.locator("table.bars")).to_have_count(8)
    page.wait_for_function(
        "[...document.querySelectorAll('figure img')].length === 4 && "
        "[...document.querySelectorAll('figure img')].every(i => i.naturalWidth > 0)"
    )
    page.get_by_role("button", name="Sample").click()
    expect(page.locator("table.rows tbody tr")).to_have_count(20)
    page.reload()  # the key survives a reload of the tab
    expect(page.locator("table.bars")).to_have_count(8)
    tab.shot("web-model-with-key.png")
    page.get_by_role("button", name="Forget API key").click()
    expect(page.get_by_role("heading", name="API key")).to_be_visible()
    tab.close()
    assert tab.errors == [] and tab.foreign == []
