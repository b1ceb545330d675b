"""The model card written next to a published model: fidelity figures, plots and a summary.

Files (inside the model directory):
    fidelity.json        fidelity_report of sampled rows and of the learned probabilities vs
                         the training data (per column and per pair)
    marginals.png        learned vs data probabilities per column
    error_heatmap.png    learned - data probability per category over epochs
    temperature.png      the temperature schedule over the run's steps
    losses.png           d_loss, g_loss and the fidelity figure per epoch
    model_card.md        a Markdown summary linking the above
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from discrete_gan import CategoricalGAN, plots, schedules
from discrete_gan.metrics import column_frequencies, fidelity_report

__all__ = ["write_model_card"]


def write_model_card(
    directory: Path,
    model: CategoricalGAN,
    data: pd.DataFrame,
    history: dict,
    fidelity_history: list,
    steps: int,
    seed: int = 0,
) -> dict:
    """Writes the model card files into `directory` and returns the fidelity summary."""
    sample = model.sample(len(data), seed=seed)
    learned = model.probabilities(seed=seed)
    rows = fidelity_report(data, sample)
    marginal = fidelity_report(data, learned)
    report = {"sampled_rows": rows, "learned_probabilities": marginal}
    (directory / "fidelity.json").write_text(json.dumps(report, indent=2, default=str))
    summary = {
        "mean_column_tvd": rows["mean_column_tvd"],
        "max_column_tvd": rows["max_column_tvd"],
        "mean_pairwise_tvd": rows["mean_pairwise_tvd"],
        "learned_mean_column_tvd": marginal["mean_column_tvd"],
        "mean_coverage": rows["mean_coverage"],
    }
    names = model.schema.names
    frequencies = column_frequencies(data, names)
    plots.save(plots.marginals(learned, frequencies), directory / "marginals.png")
    target = np.concatenate([np.asarray(c.frequencies) for c in model.schema.columns])
    labels = [f"{c.name}={k}" for c in model.schema.columns for k in c.categories]
    history_pairs = [(int(e), np.asarray(f)) for e, f in fidelity_history]
    plots.save(plots.error_heatmap(history_pairs, target, labels), directory / "error_heatmap.png")
    schedule = schedules.get(model.config.temperature)
    plots.save(plots.temperature_schedule(schedule, steps), directory / "temperature.png")
    plots.save(plots.losses(history), directory / "losses.png")
    (directory / "model_card.md").write_text(_markdown(model, data, summary, rows))
    return summary


def _markdown(model: CategoricalGAN, data: pd.DataFrame, summary: dict, rows: dict) -> str:
    meta = model.metadata
    lines = [
        f"# Model card: {meta.get('name', 'model')} v{meta.get('version', '?')}",
        "",
        f"- Trained on {len(data):,} rows, {len(model.schema.names)} categorical columns, "
        f"{meta.get('epochs', '?')} epochs in {meta.get('train_seconds', 0):.1f} s "
        f"({meta.get('versions', {}).get('backend', '?')} backend).",
        f"- Data fingerprint: `{meta.get('data_fingerprint', '?')}`",
        f"- Mean column TVD (sampled rows vs data): {summary['mean_column_tvd']:.4f} "
        f"(max {summary['max_column_tvd']:.4f}); learned probabilities: "
        f"{summary['learned_mean_column_tvd']:.4f}",
        f"- Mean pairwise TVD: {_fmt(summary['mean_pairwise_tvd'])}; category coverage "
        f"{summary['mean_coverage']:.3f}",
        "",
        "| column | categories | TVD | coverage |",
        "|---|---|---|---|",
    ]
    for col in model.schema.columns:
        lines.append(
            f"| {col.name} | {col.cardinality} | {rows['column_tvd'][str(col.name)]:.4f} | "
            f"{rows['coverage'][str(col.name)]:.3f} |"
        )
    lines += [
        "",
        "![learned vs data](marginals.png)",
        "![error over epochs](error_heatmap.png)",
        "![losses](losses.png)",
        "![temperature](temperature.png)",
        "",
    ]
    return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"
