"""The model card published with a model: fidelity figures, plots and a summary.

Files (inside the model directory):
    fidelity.json        fidelity_report of sampled rows and of the learned probabilities vs
                         the training data (per column and per pair), and "privacy" when the
                         run held rows out (see `privacy_figures`)
    marginals.png        learned vs data probabilities per column (top 20 labels + other)
    error_heatmap.png    learned - data probability per category over epochs (the same)
    temperature.png      the temperature schedule over the run's steps (the VAE's: of its
                         latent)
    losses.png           the losses (GAN: d_loss, g_loss; VAE: loss) and the fidelity figure
                         per epoch
    elbo.png             VAE only: the ELBO (-loss), -nll and kl per epoch, and the latent
                         temperature per epoch
    model_card.md        a Markdown summary linking the above: the model family, the figures,
                         for the VAE its ELBO (last epoch's, and `score` on training and
                         held-out rows), and the rare-label protection used (mode, and per
                         column the labels and share of rows protected)

`build_card` computes everything before publishing (so the summary goes into the model's
metadata when it is saved); `ModelCard.write` writes the files into the version directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from discrete_gan import CategoricalSynthesizer, plots, schedules, seeding
from discrete_gan.families import DEFAULT_FAMILY
from discrete_gan.metrics import column_frequencies, fidelity_report
from discrete_gan.privacy import DCR_MAX_ROWS, dcr_share, exact_copy_rates
from discrete_gan.schema import EncodedTable

__all__ = ["MIN_HOLDOUT_ROWS", "ModelCard", "build_card", "elbo_figures", "privacy_figures"]

MAX_CARD_ROWS = 200_000
MIN_HOLDOUT_ROWS = 20  # fewer held-out rows give rates too noisy to read
ELBO_ROWS = 1000  # rows of each set the VAE's card scores (a seeded subsample)
FAMILY_NAMES = {"gan": "Gumbel-Softmax GAN", "vae": "Gumbel-Softmax VAE"}


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

    def write(self, directory: Path, model: CategoricalSynthesizer) -> None:
        """Writes the card's files into `directory` (the model's metadata names the version)."""
        schema = model.schema
        (directory / "fidelity.json").write_text(json.dumps(self.report, indent=2, default=str))
        # per column the top labels by training frequency and one "other": bounded for any
        # cardinality (a 100k-label column made the heat-map 241,081 pixels wide)
        plots.save(plots.marginals(self.learned, self.frequencies), directory / "marginals.png")
        columns = [(c.name, c.categories) for c in schema.columns]
        history = [(int(e), np.asarray(f)) for e, f in self.fidelity_history]
        plots.save(
            plots.error_heatmap(history, schema.marginals, columns),
            directory / "error_heatmap.png",
        )
        schedule = schedules.get(model.config.temperature)
        plots.save(plots.temperature_schedule(schedule, self.steps), directory / "temperature.png")
        plots.save(plots.losses(self.history), directory / "losses.png")
        if _family(model) == "vae":
            plots.save(plots.elbo(self.history), directory / "elbo.png")
        (directory / "model_card.md").write_text(self._markdown(model), encoding="utf-8")

    def _markdown(self, model: CategoricalSynthesizer) -> str:
        meta, summary, rows = model.metadata, self.summary, self.report["sampled_rows"]
        family = _family(model)
        privacy = summary.get("privacy")
        held = f" ({privacy['holdout_rows']:,} more held out)" if privacy else ""
        lines = [
            f"# Model card: {meta.get('name', 'model')} v{meta.get('version', '?')}",
            "",
            f"- Family: {family} ({FAMILY_NAMES.get(family, family)})",
            f"- Trained on {self.rows:,} rows{held}, {len(model.schema.names)} categorical "
            f"columns, {meta.get('epochs', '?')} epochs in {meta.get('train_seconds', 0):.1f} s "
            f"({meta.get('versions', {}).get('backend') or keras.backend.backend()} backend), "
            f"seed {model.seed}.",
            f"- Data fingerprint: `{meta.get('data_fingerprint', '?')}`",
            f"- Mean column TVD (sampled rows vs data): {summary['mean_column_tvd']:.4f} "
            f"(max {summary['max_column_tvd']:.4f}); learned probabilities: "
            f"{summary['learned_mean_column_tvd']:.4f}",
            f"- Mean pairwise TVD: {_fmt(summary['mean_pairwise_tvd'])}; category coverage "
            f"{summary['mean_coverage']:.3f}",
            "",
            *_privacy_lines(privacy),
            *_elbo_lines(summary.get("elbo")),
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
            *(["![ELBO and latent temperature](elbo.png)"] if family == "vae" else []),
            "",
            *_rare_lines(meta.get("rare_labels"), model.config.rare_min_count),
        ]
        return "\n".join(lines)


def _privacy_lines(privacy: dict | None) -> list[str]:
    if privacy is None:
        return []
    if privacy["note"]:
        return [f"- Privacy: {privacy['note']}"]
    return [
        f"- Privacy, against {privacy['holdout_rows']:,} held-out rows the model never saw: "
        f"{privacy['exact_copy_rate']:.2%} of sampled rows are exact copies of training rows "
        f"(held-out real rows: {privacy['holdout_copy_rate']:.2%}, the rate to expect without "
        f"memorisation); DCR share {privacy['dcr_share']:.3f} (share of sampled rows closer to "
        f"a training row than to a held-out one; 0.5 = no memorisation; "
        f"{privacy['dcr_rows']:,} rows of each set compared, so a pure copier would score "
        f"about {0.5 + 0.5 * privacy['dcr_rows'] / privacy['train_rows']:.2f})",
    ]


def _family(model) -> str:
    """The model's family; a model object without one (made before the VAE) is a GAN."""
    return getattr(model, "family", DEFAULT_FAMILY)


def _elbo_lines(elbo: dict | None) -> list[str]:
    if elbo is None:
        return []
    line = (
        f"- ELBO (nats per row, a lower bound on log p(row)): last epoch "
        f"{_fmt(elbo['last_epoch'])} (reconstruction {_fmt(elbo['last_epoch_nll'], -1)}, "
        f"KL {_fmt(elbo['last_epoch_kl'])}); `score` on {elbo['train_rows']:,} training rows "
        f"{_fmt(elbo['train_mean'])}"
    )
    if elbo["holdout_mean"] is not None:
        line += f", on {elbo['holdout_rows']:,} held-out rows {_fmt(elbo['holdout_mean'])}"
    return [line + " (a held-out figure far below the training one means overfitting)"]


def _rare_lines(rare: dict | None, min_count: int) -> list[str]:
    """The card's "Rare-label protection" section: the mode, then per column how many labels
    were protected and the share of training rows they covered (never the labels, nor the
    per-column thresholds)."""
    if rare is None:
        return []
    if rare["mode"] == "off":
        return ["## Rare-label protection", "", "Off (`--keep-rare`): every label is kept.", ""]
    if rare["mode"] == "placeholder":
        how = f"their rows trained as the placeholder `{rare['placeholder']}`"
    else:
        how = "their rows trained as draws of the column's kept labels"
    lines = [
        "## Rare-label protection",
        "",
        f"Mode `{rare['mode']}`: labels seen in fewer than k training rows (k drawn per column "
        f"from {min_count} to {min_count + 2}) are stored nowhere and never sampled; {how}.",
        "",
        "| column | labels protected | share of rows |",
        "|---|---|---|",
    ]
    for name, figures in rare["columns"].items():
        lines.append(f"| {name} | {figures['labels_protected']} | {figures['rows_share']:.2%} |")
    return [*lines, ""]


def privacy_figures(
    synthetic: np.ndarray, train: np.ndarray, holdout: np.ndarray, seed: int
) -> dict:
    """Exact-copy rates and the DCR share of sampled rows, all as int codes `(n, n_columns)`.

    Keys: "holdout_rows", "train_rows", "synthetic_rows", "exact_copy_rate" (synthetic rows
    found verbatim among all training rows), "holdout_copy_rate" (the same for the held-out
    rows: the baseline), "dcr_share" (`discrete_gan.privacy.dcr_share`, seeded), "dcr_rows"
    (rows of each reference set it compared) and "note" (None, or why the figures are None:
    fewer than `MIN_HOLDOUT_ROWS` held-out rows).
    """
    out = {
        "holdout_rows": len(holdout),
        "train_rows": len(train),
        "synthetic_rows": len(synthetic),
        "exact_copy_rate": None,
        "holdout_copy_rate": None,
        "dcr_share": None,
        "dcr_rows": None,
        "note": None,
    }
    if len(holdout) < MIN_HOLDOUT_ROWS:
        out["note"] = (
            f"skipped: {len(holdout)} held-out row(s), fewer than {MIN_HOLDOUT_ROWS} (raise "
            "--holdout or train on more rows for exact-copy and DCR figures)"
        )
        return out
    out["exact_copy_rate"], out["holdout_copy_rate"] = exact_copy_rates([synthetic, holdout], train)
    out["dcr_share"] = dcr_share(synthetic, train, holdout, seed=seed)
    out["dcr_rows"] = min(len(train), len(holdout), DCR_MAX_ROWS)
    return out


def elbo_figures(
    model: CategoricalSynthesizer,
    table: EncodedTable,
    history: dict,
    holdout: np.ndarray | None = None,
) -> dict:
    """A VAE's ELBO figures: the last epoch's training logs and `score` means.

    Keys: "last_epoch" (`-loss`), "last_epoch_nll", "last_epoch_kl" (None before any epoch),
    "train_mean" and "train_rows" (mean `score` of at most `ELBO_ROWS` training rows, a
    seeded subsample), "holdout_mean" and "holdout_rows" (the same on held-out rows; None
    and 0 without any). The held-out mean against the training mean shows overfitting.
    """

    def last(key: str, sign: float = 1.0) -> float | None:
        values = history.get(key) or []
        return sign * float(values[-1]) if values else None

    def mean_score(codes: np.ndarray, index: int) -> tuple[float | None, int]:
        if len(codes) == 0:
            return None, 0
        if len(codes) > ELBO_ROWS:  # the card's stream, at an index of its own per set
            rng = seeding.stream_rng(model.seed, "card.sample", index)
            codes = codes[np.sort(rng.choice(len(codes), ELBO_ROWS, replace=False))]
        scores = model.score(EncodedTable(codes, model.schema))
        return float(np.mean(scores)), len(codes)

    train_mean, train_rows = mean_score(table.codes, 1)
    held = np.zeros((0, table.codes.shape[1]), table.codes.dtype) if holdout is None else holdout
    holdout_mean, holdout_rows = mean_score(held, 2)
    return {
        "last_epoch": last("loss", -1.0),
        "last_epoch_nll": last("nll"),
        "last_epoch_kl": last("kl"),
        "train_mean": train_mean,
        "train_rows": train_rows,
        "holdout_mean": holdout_mean,
        "holdout_rows": holdout_rows,
    }


def build_card(
    model: CategoricalSynthesizer,
    table: EncodedTable,
    history: dict,
    fidelity_history: list,
    steps: int,
    holdout: np.ndarray | None = None,
) -> ModelCard:
    """Compares sampled rows and learned probabilities with the training data.

    At most `MAX_CARD_ROWS` training rows (a seeded subsample) and as many sampled rows are
    compared, so the card costs the same for any table size. With `holdout` (codes of rows
    kept out of training, possibly none), the summary and report gain "privacy"
    (`privacy_figures`: the sampled rows against all training rows and the held-out ones).
    A VAE's summary and report gain "elbo" (`elbo_figures`).
    """
    schema, codes = model.schema, table.codes
    if len(codes) > MAX_CARD_ROWS:
        keep = seeding.stream_rng(model.seed, "card.sample").choice(
            len(codes), MAX_CARD_ROWS, replace=False
        )
        codes = codes[np.sort(keep)]
    sampled = model.draw(len(codes), seed=seeding.stream_seed(model.seed, "card.sample")).codes()
    privacy = None
    if holdout is not None:  # first: keying every training row is the card's memory peak
        privacy = privacy_figures(
            sampled, table.codes, holdout, seeding.stream_seed(model.seed, "card.sample")
        )
    data = schema.decode(codes)
    sample = schema.decode(sampled)
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
    report = {"sampled_rows": rows, "learned_probabilities": marginal}
    if privacy is not None:
        summary["privacy"] = report["privacy"] = privacy
    if _family(model) == "vae":
        summary["elbo"] = report["elbo"] = elbo_figures(model, table, history, holdout)
    return ModelCard(
        summary=summary,
        report=report,
        learned=learned,
        frequencies=column_frequencies(data, schema.names),
        fidelity_history=fidelity_history,
        history=history,
        steps=steps,
        rows=len(table),
    )


def _fmt(value, sign: float = 1.0) -> str:
    return "n/a" if value is None else f"{sign * value:.4f}"
