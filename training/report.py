"""The model card published with a model: fidelity figures, plots and a summary.

Files (inside the model directory):
    fidelity.json        fidelity_report of sampled rows and of the learned probabilities vs
                         the training data (per column and per pair)
    marginals.png        learned vs data probabilities per column
    error_heatmap.png    learned - data probability per category over epochs
    temperature.png      the temperature schedule over the run's steps
    losses.png           d_loss, g_loss and the fidelity figure per epoch
    model_card.md        a Markdown summary linking the above

`build_card` computes everything before publishing (so the summary goes into the model's
metadata when it is saved); `ModelCard.write` writes the files into the version directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discrete_gan import CategoricalGAN, plots, schedules, seeding
from discrete_gan.metrics import column_frequencies, fidelity_report
from discrete_gan.schema import EncodedTable

__all__ = ["ModelCard", "build_card"]

MAX_CARD_ROWS = 200_000


@dataclass
class ModelCard:
    """The figures and plot inputs of one trained model, ready to be written."""

    summary: dict
    report: dict
    learned: dict
    frequencies: dict
    fidelity_history: list
    history: dict
    steps: int
    rows: int

    def write(self, directory: Path, model: CategoricalGAN) -> None:
        """Writes the card's files into `directory` (the model's metadata names the version)."""
        schema = model.schema
        (directory / "fidelity.json").write_text(json.dumps(self.report, indent=2, default=str))
        plots.save(plots.marginals(self.learned, self.frequencies), directory / "marginals.png")
        labels = [f"{c.name}={k}" for c in schema.columns for k in c.categories]
        history = [(int(e), np.asarray(f)) for e, f in self.fidelity_history]
        plots.save(
            plots.error_heatmap(history, schema.marginals, labels), directory / "error_heatmap.png"
        )
        schedule = schedules.get(model.config.temperature)
        plots.save(plots.temperature_schedule(schedule, self.steps), directory / "temperature.png")
        plots.save(plots.losses(self.history), directory / "losses.png")
        (directory / "model_card.md").write_text(self._markdown(model), encoding="utf-8")

    def _markdown(self, model: CategoricalGAN) -> str:
        meta, summary, rows = model.metadata, self.summary, self.report["sampled_rows"]
        lines = [
            f"# Model card: {meta.get('name', 'model')} v{meta.get('version', '?')}",
            "",
            f"- Trained on {self.rows:,} rows, {len(model.schema.names)} categorical columns, "
            f"{meta.get('epochs', '?')} epochs in {meta.get('train_seconds', 0):.1f} s "
            f"({meta.get('versions', {}).get('backend', '?')} backend), seed {model.seed}.",
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


def build_card(
    model: CategoricalGAN,
    table: EncodedTable,
    history: dict,
    fidelity_history: list,
    steps: int,
) -> ModelCard:
    """Compares sampled rows and learned probabilities with the training data.

    At most `MAX_CARD_ROWS` training rows (a seeded subsample) and as many sampled rows are
    compared, so the card costs the same for any table size.
    """
    schema, codes = model.schema, table.codes
    if len(codes) > MAX_CARD_ROWS:
        keep = seeding.stream_rng(model.seed, "card.sample").choice(
            len(codes), MAX_CARD_ROWS, replace=False
        )
        codes = codes[np.sort(keep)]
    data = schema.decode(codes)
    sample = model.sample(len(codes), seed=seeding.stream_seed(model.seed, "card.sample"))
    learned = model.probabilities()
    rows = fidelity_report(data, sample)
    marginal = fidelity_report(data, learned)
    summary = {
        "mean_column_tvd": rows["mean_column_tvd"],
        "max_column_tvd": rows["max_column_tvd"],
        "mean_pairwise_tvd": rows["mean_pairwise_tvd"],
        "learned_mean_column_tvd": marginal["mean_column_tvd"],
        "mean_coverage": rows["mean_coverage"],
    }
    return ModelCard(
        summary=summary,
        report={"sampled_rows": rows, "learned_probabilities": marginal},
        learned=learned,
        frequencies=column_frequencies(data, schema.names),
        fidelity_history=fidelity_history,
        history=history,
        steps=steps,
        rows=len(table),
    )


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"
