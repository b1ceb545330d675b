"""A picture benchmark (issue #11): scikit-learn's 8x8 digits as a 64-column categorical table.

`sklearn.datasets.load_digits` ships 1,797 images of 8x8 pixels, each pixel a grey level
0..16. Each pixel becomes a categorical column (`r{row}c{col}`) whose labels are the 17
levels as text ("0".."16"); nothing tells a model that the labels are ordered or that the
columns are neighbours. A seeded 20% of the images (359) is held out. The GAN
(`CategoricalGAN(seed=...)`) and the VAE (`CategoricalVAE(seed=...)`) train with the library
defaults (`fit(df)`, its default epochs) on the other 1,438; each draws as many rows.

Figures against the held-out images (`discrete_gan.metrics`): mean column TVD over the 64
pixels and mean pairwise TVD over all 2,016 pixel pairs (17 x 17 cells each). The held-out
set is small (359 images for up to 289 cells a pair), so the Identity row (the training
images themselves) shows the sampling-noise floor, which is high; `ink_pair_tvd` is the
pairwise TVD of the pixels thresholded at level `INK` (ink / blank, 4 cells a pair), where
the noise is far smaller and the strokes' shape shows. The independent-marginals row (each
training column shuffled on its own) shows what pixels without dependencies score. Also:
train time, the share of emitted cells that are the rare-label placeholder (levels seen in
fewer than `rare_min_count` training images of a pixel), and, for the VAE, the ELBO ranking
AUC of `benchmarks.elbo_auc` (held-out images vs pixel-shuffled ones). Pictures:
`results/digits_{gan,vae}.png`, sampled digits beside real held-out ones (placeholder cells
drawn red).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.bn_likelihood import independent
from discrete_gan import CategoricalGAN, CategoricalVAE
from discrete_gan.metrics import column_tvd, pairwise_tvd

__all__ = [
    "FAMILIES",
    "HOLDOUT",
    "images",
    "ink",
    "load_table",
    "plot_digits",
    "run_digits",
    "split",
]

HOLDOUT = 0.2
SIDE = 8
INK = 8  # grey level from which a pixel counts as ink (`ink_pair_tvd`)
FAMILIES = {"gan": CategoricalGAN, "vae": CategoricalVAE}


def load_table() -> pd.DataFrame:
    """The 1,797 digits as a DataFrame of 64 text columns `r0c0`..`r7c7`, labels "0".."16"."""
    from sklearn.datasets import load_digits

    pixels = load_digits().data.astype(int)
    names = [f"r{i // SIDE}c{i % SIDE}" for i in range(SIDE * SIDE)]
    return pd.DataFrame(pixels.astype(str), columns=names)


def split(table: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded `HOLDOUT` share of the images held out: `(train, held)`, indices reset."""
    order = np.random.default_rng(seed).permutation(len(table))
    n_held = round(HOLDOUT * len(table))
    held, train = order[:n_held], order[n_held:]
    return table.iloc[train].reset_index(drop=True), table.iloc[held].reset_index(drop=True)


def ink(rows: pd.DataFrame) -> pd.DataFrame:
    """Each pixel as "ink" (level >= `INK`), "blank", or "other" (the placeholder)."""
    levels = images(rows).reshape(len(rows), -1)
    text = np.where(levels >= INK, "ink", "blank").astype(object)
    text[np.isnan(levels)] = "other"
    return pd.DataFrame(text, columns=rows.columns)


def _scores(held: pd.DataFrame, rows: pd.DataFrame, placeholder: str | None) -> dict[str, Any]:
    cols = column_tvd(held, rows)
    pairs = pairwise_tvd(held, rows)
    ink_pairs = pairwise_tvd(ink(held), ink(rows))
    values = rows.to_numpy()
    return {
        "col_tvd": float(np.mean(list(cols.values()))),
        "max_col_tvd": float(max(cols.values())),
        "pair_tvd": float(np.mean(list(pairs.values()))),
        "max_pair_tvd": float(max(pairs.values())),
        "ink_pair_tvd": float(np.mean(list(ink_pairs.values()))),
        "placeholder_share": float((values == placeholder).mean()) if placeholder else 0.0,
    }


def images(rows: pd.DataFrame) -> np.ndarray:
    """`(n, 8, 8)` float grey levels 0..16; a cell that is not a level (the placeholder) NaN."""
    levels = pd.DataFrame({c: pd.to_numeric(rows[c], errors="coerce") for c in rows.columns})
    return levels.to_numpy(float).reshape(len(rows), SIDE, SIDE)


def _mosaic(imgs: np.ndarray, per_row: int) -> np.ndarray:
    """Tiles `(n, 8, 8)` into one RGB image, white gutters, NaN cells red."""
    n = len(imgs)
    rows = -(-n // per_row)
    step = SIDE + 1
    out = np.ones((rows * step - 1, per_row * step - 1, 3))
    for k, img in enumerate(imgs):
        r, c = divmod(k, per_row)
        grey = 1.0 - np.nan_to_num(img, nan=0.0) / 16.0  # ink dark on white, as printed
        tile = np.repeat(grey[..., None], 3, axis=-1)
        tile[np.isnan(img)] = (0.9, 0.1, 0.1)
        out[r * step : r * step + SIDE, c * step : c * step + SIDE] = tile
    return out


def plot_digits(
    real: pd.DataFrame, sampled: pd.DataFrame, path: Path, title: str, n: int = 50
) -> Path | None:
    """`n` held-out digits (left) beside `n` sampled ones (right), one PNG (matplotlib, Agg)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, rows, label in ((axes[0], real, "held-out real"), (axes[1], sampled, "sampled")):
        ax.imshow(_mosaic(images(rows.head(n)), per_row=10), interpolation="nearest")
        ax.set_title(f"{label} (first {min(n, len(rows))})")
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_digits(
    *,
    seed: int = 0,
    epochs: int | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    plot_dir: Path | None = None,
) -> dict[str, Any]:
    """Identity, independent marginals, the GAN and the VAE on the digits table.

    `epochs` None is fit's default (the user's path); `overrides` per family (`"gan"`,
    `"vae"`) exist for tests. With `plot_dir`, writes `digits_{family}.png` there.
    """
    from benchmarks.elbo_auc import rank_scores

    train, held = split(load_table(), seed=seed)
    results = [
        {"method": "Identity (training images)", **_scores(held, train, None)},
        {"method": "Independent marginals", **_scores(held, independent(train, seed), None)},
    ]
    pictures = {}
    for family, cls in FAMILIES.items():
        model = cls(seed=seed, **(overrides or {}).get(family, {}))
        start = time.perf_counter()
        model.fit(train, epochs=epochs)
        train_s = time.perf_counter() - start
        rows = model.sample(len(train), seed=seed + 1)
        placeholder = (model.metadata.get("rare_labels") or {}).get("placeholder")
        row = {
            "method": f"{family} (default)" if not overrides else f"{family} (test config)",
            **_scores(held, rows, placeholder),
            "epochs": model.metadata["epochs"],
            "train_s": train_s,
        }
        if family == "vae":
            ranked = rank_scores(model, train, held, seed=seed)
            row["elbo_auc"] = ranked["auc"]
            row["elbo_real"] = ranked["mean_elbo_real"]
            row["elbo_shuffled"] = ranked["mean_elbo_shuffled"]
            row["elbo_rows_dropped"] = ranked["rows_dropped"]
        results.append(row)
        if plot_dir is not None:
            title = f"8x8 digits: {family.upper()} ({row['method']}, {row['epochs']} epochs)"
            path = plot_digits(held, rows, Path(plot_dir) / f"digits_{family}.png", title)
            pictures[family] = str(path) if path else None
    return {
        "table": {
            "images": len(train) + len(held),
            "train_rows": len(train),
            "held_rows": len(held),
            "columns": train.shape[1],
            "levels": 17,
            "seed": seed,
        },
        "settings": {"epochs": epochs, "overrides": overrides or {}},
        "results": results,
        "pictures": pictures,
    }
