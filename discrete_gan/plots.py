"""Figures for model cards and explanations (matplotlib, headless Agg backend).

Every function returns a `matplotlib.figure.Figure`; `save(fig, path)` writes a PNG and
closes it. matplotlib is imported lazily so the core library does not need it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "error_heatmap",
    "losses",
    "marginals",
    "save",
    "temperature_demo",
    "temperature_schedule",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def display(label: Any) -> str:
    """A label as plot text: control characters escaped (`\\n`, `\\t`), the rest as is."""
    text = "(missing)" if label is None else str(label)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
    max_labels: int = 20,
):
    """Bar charts of learned vs data probabilities, one panel per column (first `max_columns`).

    Columns with more than `max_labels` categories show their most frequent labels.
    """
    plt = _pyplot()
    names = list(learned)[:max_columns]
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        labels = sorted(data[name], key=lambda k: -data[name][k])[:max_labels]
        x = np.arange(len(labels))
        ax.bar(x - 0.2, [data[name].get(k, 0.0) for k in labels], 0.4, label="data")
        ax.bar(x + 0.2, [learned[name].get(k, 0.0) for k in labels], 0.4, label="learned")
        ax.set_xticks(x, [display(k) for k in labels], rotation=45, ha="right", fontsize=8)
        ax.set_title(str(name), fontsize=10)
        ax.set_ylabel("probability")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend()
    fig.suptitle("Learned vs data probabilities")
    _tight(fig)
    return fig


MAX_HEATMAP_LABELS = 150


def error_heatmap(
    history: Sequence[tuple[int, np.ndarray]], target: np.ndarray, labels: Sequence[str]
):
    """Learned-minus-data probability per category (columns) over epochs (rows).

    `history` is `FidelityMonitor.history`: `(epoch, flat learned marginals (sum(k),))` pairs;
    `target` the flat data marginals; `labels` one name per flat position ("col=label").
    """
    plt = _pyplot()
    epochs = [e for e, _ in history]
    err = np.stack([flat - target for _, flat in history]) if history else np.zeros((1, 1))
    bound = max(float(np.abs(err).max()), 1e-6)
    # Past MAX_HEATMAP_LABELS categories the figure keeps a bounded width and names no
    # category: thousands of tick labels cost tens of seconds and a gigabyte to render.
    width = max(6, 0.35 * min(len(labels), MAX_HEATMAP_LABELS))
    fig, ax = plt.subplots(figsize=(width, max(3, 0.18 * len(epochs))))
    image = ax.imshow(err, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound)
    if len(labels) <= MAX_HEATMAP_LABELS:
        ax.set_xticks(range(len(labels)), [display(x) for x in labels], rotation=90, fontsize=7)
    else:
        ax.set_xlabel(f"category (all {len(labels)}, in schema order)")
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
    """Per-epoch curves of d_loss, g_loss and, if present, the fidelity figure `tvd`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for key in ("d_loss", "g_loss"):
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
