"""Figures for model cards and explanations (matplotlib, headless Agg backend).

Every function returns a `matplotlib.figure.Figure`; `save(fig, path)` writes a PNG and
closes it. matplotlib is imported lazily so the core library does not need it.

The model card's figures stay readable, and bounded in size and time, for any number of
labels: per column they name at most `MAX_LABELS` labels (the most frequent in the data) and
sum the rest up as one "other (N labels)" entry, label texts are shortened to
`MAX_LABEL_CHARS` characters, and figures are at most `MAX_FIGURE_INCHES` wide and high.
"""

from __future__ import annotations

import heapq
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MAX_LABELS",
    "elbo",
    "error_heatmap",
    "losses",
    "marginals",
    "save",
    "temperature_demo",
    "temperature_schedule",
]

MAX_LABELS = 20  # labels named per column; the rest are one "other (N labels)" entry
MAX_LABEL_CHARS = 24
MAX_FIGURE_INCHES = 30.0  # at the default 110 dpi: 3,300 pixels


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def display(label: Any, limit: int | None = None) -> str:
    """A label as plot text: control characters escaped (`\\n`, `\\t`), the rest as is;
    longer than `limit` characters, cut with an ellipsis."""
    text = "(missing)" if label is None else str(label)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _other(count: int) -> str:
    return f"other ({count:,} labels)"


def _inches(value: float, low: float) -> float:
    return min(max(value, low), MAX_FIGURE_INCHES)


def _tight(fig) -> None:
    """`tight_layout`, quiet about glyphs the default font lacks (labels in any script are
    drawn as boxes rather than warned about once per character)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout()


def save(fig, path: str | Path, dpi: int = 110) -> Path:
    """Writes `fig` as PNG to `path` and closes it."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # see _tight
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def marginals(
    learned: Mapping[str, Mapping[Any, float]],
    data: Mapping[str, Mapping[Any, float]],
    max_columns: int = 12,
    max_labels: int = MAX_LABELS,
):
    """Bar charts of learned vs data probabilities, one panel per column (first `max_columns`).

    A column with more than `max_labels` labels shows its `max_labels` most frequent ones in
    the data and one "other (N labels)" pair of bars with the rest's total probability.
    """
    plt = _pyplot()
    names = list(learned)[:max_columns]
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        seen, model = data[name], learned[name]
        labels = heapq.nlargest(max_labels, seen, key=seen.__getitem__)  # ties: first seen
        heights = [[seen.get(k, 0.0) for k in labels], [model.get(k, 0.0) for k in labels]]
        ticks = [display(k, MAX_LABEL_CHARS) for k in labels]
        rest = len(seen.keys() | model.keys()) - len(labels)
        if rest > 0:
            for series, probs in zip(heights, (seen, model)):
                series.append(max(0.0, math.fsum(probs.values()) - math.fsum(series)))
            ticks.append(_other(rest))
        x = np.arange(len(ticks))
        ax.bar(x - 0.2, heights[0], 0.4, label="data")
        ax.bar(x + 0.2, heights[1], 0.4, label="learned")
        ax.set_xticks(x, ticks, rotation=45, ha="right", fontsize=8)
        ax.set_title(display(name, 40), fontsize=10)
        ax.set_ylabel("probability")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend()
    fig.suptitle("Learned vs data probabilities")
    _tight(fig)
    return fig


MAX_HEATMAP_TICKS = 150


def error_heatmap(
    history: Sequence[tuple[int, np.ndarray]],
    target: np.ndarray,
    columns: Sequence[tuple[str, Sequence[Any]]],
    max_labels: int = MAX_LABELS,
):
    """Learned-minus-data probability per category (columns) over epochs (rows).

    `history` is `FidelityMonitor.history`: `(epoch, flat learned marginals (sum(k),))` pairs;
    `target` the flat data marginals; `columns` one `(name, labels)` pair per column, in flat
    order (e.g. `[(c.name, c.categories) for c in schema.columns]`). Each column shows its
    `max_labels` most frequent labels in the data and, if it has more, one "other (N labels)"
    cell: the error of the rest's total probability. So the width depends on the number of
    columns, never on their cardinality; past `MAX_HEATMAP_TICKS` cells the figure stops
    growing and names the columns instead of the labels.
    """
    plt = _pyplot()
    target = np.asarray(target, dtype=np.float64)
    picks, names, bounds, offset = [], [], [], 0
    for name, labels in columns:
        k = len(labels)
        block = target[offset : offset + k]
        top = np.argsort(-block, kind="stable")[:max_labels]
        picks.append((offset, k, top))
        names += [f"{display(name, 16)}={display(labels[i], MAX_LABEL_CHARS)}" for i in top]
        if k > len(top):
            names.append(f"{display(name, 16)}: {_other(k - len(top))}")
        bounds.append(len(names))
        offset += k

    def cells(flat: np.ndarray) -> np.ndarray:
        out = []
        for start, k, top in picks:
            block = (
                np.asarray(flat[start : start + k], dtype=np.float64) - target[start : start + k]
            )
            out.append(block[top])
            if k > len(top):
                out.append([block.sum() - block[top].sum()])
        return np.concatenate(out) if out else np.zeros(0)

    epochs = [e for e, _ in history]
    err = np.stack([cells(flat) for _, flat in history]) if history else np.zeros((1, len(names)))
    if err.size == 0:
        err = np.zeros((1, 1))
    bound = max(float(np.abs(err).max()), 1e-6)
    width = _inches(0.35 * err.shape[1], 6)
    height = min(_inches(0.18 * len(epochs), 3), 12)  # many epochs: thinner rows
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(err, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound)
    for edge in bounds[:-1]:  # column boundaries
        ax.axvline(edge - 0.5, color="k", linewidth=0.6)
    if len(names) <= MAX_HEATMAP_TICKS:
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    else:
        starts = [0, *bounds[:-1]]
        centres = [(a + b - 1) / 2 for a, b in zip(starts, bounds)]
        shown = [display(n, 16) for n, _ in columns] if len(bounds) <= MAX_HEATMAP_TICKS else []
        ax.set_xticks(centres if shown else [], shown, rotation=90, fontsize=7)
        ax.set_xlabel(f"{len(names):,} cells: per column its top {max_labels} labels and other")
    step = max(1, len(epochs) // 15)
    ax.set_yticks(range(0, len(epochs), step), [str(e + 1) for e in epochs[::step]])
    ax.set_ylabel("epoch")
    ax.set_title("Learned - data probability per category")
    fig.colorbar(image, ax=ax, label="error")
    _tight(fig)
    return fig


def temperature_schedule(schedule, steps: int):
    """The schedule's temperature over `steps` training steps."""
    plt = _pyplot()
    x = np.linspace(0, max(steps, 1), 200).astype(int)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(x, [schedule.value(int(t)) for t in x])
    ax.set_xlabel("step")
    ax.set_ylabel("temperature")
    ax.set_title(f"Temperature schedule: {schedule!r}", fontsize=9)
    _tight(fig)
    return fig


def losses(history: Mapping[str, Sequence[float]]):
    """Per-epoch curves of the losses present (the GAN's d_loss and g_loss, the VAE's loss)
    and, if present, the fidelity figure `tvd`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for key in ("d_loss", "g_loss", "loss"):
        if key in history:
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if "tvd" in history:
        twin = ax.twinx()
        twin.plot(np.arange(1, len(history["tvd"]) + 1), history["tvd"], "k--", label="tvd")
        twin.set_ylabel("mean column TVD")
        twin.legend(loc="upper center")
    ax.legend(loc="upper right")
    ax.set_title("Training losses and fidelity")
    _tight(fig)
    return fig


def elbo(history: Mapping[str, Sequence[float]]):
    """A VAE's training curves per epoch, from its logs (`loss`, `nll`, `kl`, `temperature`).

    Left: the ELBO (`-loss`, nats per row; it rises as the model learns), the expected
    reconstruction log-likelihood (`-nll`) and the KL term (`kl`; the ELBO is `-nll - kl`
    when `kl_weight` is 1). Right: the latent Gumbel-Softmax temperature (each epoch's mean
    over its steps, as annealed). Curves missing from `history` are left out.
    """
    plt = _pyplot()
    from matplotlib import ticker

    fig, (ax, tax) = plt.subplots(1, 2, figsize=(10, 3.4))
    plotted = False
    for key, sign, label in (
        ("loss", -1.0, "ELBO (-loss)"),
        ("nll", -1.0, "reconstruction log-lik. (-nll)"),
        ("kl", 1.0, "KL(q(z|x) || p(z))"),
    ):
        if key in history:
            values = sign * np.asarray(history[key], dtype=np.float64)
            ax.plot(np.arange(1, len(values) + 1), values, label=label)
            plotted = True
    ax.axhline(0.0, color="0.7", linewidth=0.6)
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per row")
    ax.set_title("ELBO per epoch (training rows)")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    if plotted:
        ax.legend(fontsize=8)
    if "temperature" in history:
        values = history["temperature"]
        tax.plot(np.arange(1, len(values) + 1), values, color="tab:purple")
    tax.set_xlabel("epoch")
    tax.set_ylabel("temperature")
    tax.set_title("Latent temperature (mean per epoch)")
    tax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    _tight(fig)
    return fig


def temperature_demo(
    probs: Sequence[float] = (0.1, 0.2, 0.2, 0.2, 0.3),
    temperatures: Sequence[float] = (0.1, 1.0, 5.0, 100.0),
    seed: int = 0,
    n: int = 10_000,
):
    """Gumbel-Softmax samples and their expectation at several temperatures (for teaching).

    Top row: one relaxed sample per temperature; bottom row: the mean of `n` samples, which
    tends to `probs` as the temperature falls and to uniform as it rises.
    """
    from keras import ops

    from discrete_gan.distributions import RelaxedOneHotCategorical

    plt = _pyplot()
    probs = np.asarray(probs, "float32")
    k = len(probs)
    fig, axes = plt.subplots(2, len(temperatures), figsize=(3.2 * len(temperatures), 5.5))
    for i, tau in enumerate(temperatures):
        dist = RelaxedOneHotCategorical(float(tau), probs=probs)
        draws = ops.convert_to_numpy(dist.sample(n, seed=seed))
        axes[0, i].bar(range(k), draws[0], color="tab:blue")
        axes[0, i].set_title(f"sample, τ = {tau:g}")
        axes[1, i].bar(range(k), draws.mean(0), color="tab:orange")
        axes[1, i].plot(range(k), probs, "k_", markersize=18, label="p")
        axes[1, i].set_title(f"expectation, τ = {tau:g}")
        for ax in axes[:, i]:
            ax.set_ylim(0, 1)
            ax.set_xticks(range(k), [chr(ord("a") + j) for j in range(k)])
    axes[1, 0].legend()
    fig.suptitle("Gumbel-Softmax: samples and expectation across temperatures")
    _tight(fig)
    return fig
