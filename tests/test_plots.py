"""The model card's figures stay readable and bounded for any number of labels: per column the
top labels by training frequency and one "other (N labels)" entry, and capped figure sizes."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from discrete_gan import plots
from discrete_gan.config import GANConfig
from discrete_gan.schema import Column, TableSchema
from training.report import ModelCard

# Matplotlib figures of hand-built schemas and histories: no model, no backend.
pytestmark = pytest.mark.backend_agnostic

MAX_PIXELS = 4000


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _column(name: str, labels: list, rng: np.random.Generator) -> Column:
    weights = rng.pareto(1.2, len(labels)) + 1e-3
    return Column(name, tuple(labels), "object", tuple(weights / weights.sum()))


def wide_card(
    columns: list[Column], epochs: int = 40, seed: int = 0
) -> tuple[ModelCard, SimpleNamespace]:
    """A model card of a hand-built schema and a learned history drifting towards the data."""
    rng = np.random.default_rng(seed)
    schema = TableSchema(columns)
    target = schema.marginals
    start = np.concatenate([np.full(c.cardinality, 1 / c.cardinality) for c in columns])
    fidelity_history = [(e, start + (target - start) * (e + 1) / epochs) for e in range(epochs)]
    learned = schema.label_dict(fidelity_history[-1][1])
    frequencies = {c.name: dict(zip(c.categories, c.frequencies)) for c in columns}
    names = schema.names
    summary = {
        "mean_column_tvd": 0.1,
        "max_column_tvd": 0.2,
        "mean_pairwise_tvd": None,
        "learned_mean_column_tvd": 0.1,
        "mean_coverage": 0.9,
    }
    report = {
        "sampled_rows": {
            "column_tvd": dict.fromkeys(names, 0.1),
            "coverage": dict.fromkeys(names, 0.9),
        }
    }
    card = ModelCard(
        summary=summary,
        report=report,
        learned=learned,
        frequencies=frequencies,
        fidelity_history=fidelity_history,
        history={"d_loss": list(rng.random(epochs)), "g_loss": list(rng.random(epochs))},
        steps=1000,
        rows=100_000,
    )
    model = SimpleNamespace(
        schema=schema, config=GANConfig(), metadata={"name": "wide", "version": "1"}, seed=seed
    )
    return card, model


PLOTS = ["marginals.png", "error_heatmap.png", "temperature.png", "losses.png"]


def test_a_20000_label_column_gives_bounded_figures_quickly(tmp_path):
    """The error heat-map was as wide as the labels are many (a 100k-label column: 241,081
    pixels), and the bars named labels without saying how much mass the rest holds."""
    rng = np.random.default_rng(0)
    ids = [f"id-{i:05d}" for i in range(20_000)]
    columns = [_column("id", ids, rng), _column("colour", ["red", "green", "blue"], rng)]
    card, model = wide_card(columns)
    started = time.perf_counter()
    card.write(tmp_path, model)
    elapsed = time.perf_counter() - started
    for name in PLOTS:
        width, height = png_size(tmp_path / name)
        assert width < MAX_PIXELS and height < MAX_PIXELS, (name, width, height)
    assert elapsed < 60, elapsed  # about 2 s here; the old heat-map took minutes
    assert "| id | 20000 |" in (tmp_path / "model_card.md").read_text()


def _ticks(ax) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def test_top_labels_and_one_other_entry_per_column():
    rng = np.random.default_rng(1)
    ids = [f"id-{i:05d}" for i in range(20_000)]
    columns = [_column("id", ids, rng), _column("colour", ["red", "green", "blue"], rng)]
    card, model = wide_card(columns, epochs=5)
    id_col = columns[0]
    top = sorted(range(20_000), key=lambda i: -id_col.frequencies[i])[:20]

    fig = plots.marginals(card.learned, card.frequencies)
    ax = fig.axes[0]
    ticks = _ticks(ax)
    assert ticks == [ids[i] for i in top] + ["other (19,980 labels)"]
    data_bars = ax.containers[0]
    heights = [b.get_height() for b in data_bars]
    assert heights[:20] == pytest.approx([id_col.frequencies[i] for i in top])
    assert sum(heights) == pytest.approx(1.0)  # the other bar holds the rest of the mass
    assert sorted(_ticks(fig.axes[1])) == ["blue", "green", "red"]  # all 3, no "other"
    plots._pyplot().close(fig)

    fig = plots.error_heatmap(
        card.fidelity_history, model.schema.marginals, [(c.name, c.categories) for c in columns]
    )
    ax = fig.axes[0]
    ticks = _ticks(ax)
    assert len(ticks) == 20 + 1 + 3
    assert ticks[:20] == [f"id={ids[i]}" for i in top] and ticks[20] == "id: other (19,980 labels)"
    image = ax.get_images()[0].get_array()
    assert image.shape == (5, 24)
    # the "other" cell is the error of the rest's total probability
    last = card.fidelity_history[0][1][:20_000] - id_col.frequencies
    rest = np.ones(20_000, bool)
    rest[top] = False
    assert image[0, 20] == pytest.approx(last[rest].sum())
    plots._pyplot().close(fig)


def test_many_columns_and_long_labels_stay_bounded(tmp_path):
    rng = np.random.default_rng(2)
    columns = [
        _column(f"column_with_a_long_name_{j}", [f"{'x' * 200}{i}" for i in range(40)], rng)
        for j in range(80)
    ]
    card, model = wide_card(columns, epochs=300)
    card.write(tmp_path, model)
    for name in PLOTS:
        width, height = png_size(tmp_path / name)
        assert width < MAX_PIXELS and height < MAX_PIXELS, (name, width, height)
    fig = plots.error_heatmap(
        card.fidelity_history, model.schema.marginals, [(c.name, c.categories) for c in columns]
    )
    ticks = _ticks(fig.axes[0])  # 80 x 21 cells: the columns are named, not the labels
    assert len(ticks) == 80 and ticks[0] == "column_with_a_l…"
    plots._pyplot().close(fig)
    fig = plots.marginals(card.learned, card.frequencies)
    assert all(len(t) <= plots.MAX_LABEL_CHARS for t in _ticks(fig.axes[0])[:-1])
    plots._pyplot().close(fig)
