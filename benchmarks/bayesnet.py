"""Discrete Bayesian networks in numpy: read pgmpy's bundled BIF files, sample rows exactly
(ancestral sampling), score rows (log P), and refit the CPDs of a fixed structure on new rows.

These are the pieces of the CTGAN paper's / SDGym 0.2.0's likelihood benchmark:
L_syn = mean log P_true(synthetic row) and L_test = mean log P_fitted(test row), where
`fitted` has the TRUE structure and CPDs estimated from the synthetic rows.
"""

from __future__ import annotations

import gzip
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["NETWORKS", "WIDE_NETWORKS", "Network", "Node", "load_network"]

NETWORKS = ("asia", "alarm", "child", "insurance")  # SDGym 0.2.0's, the default set
# Wider tests of the same thing, also bundled with pgmpy: hailfinder (56 nodes, up to 11
# states) and water (32 nodes, 4 states). A typical hailfinder row has P ~ e^-49, far below
# SDGym's 1e-8 floor, so its floored L_syn / L_test are the floor for every method: read its
# unfloored L_test (`floor=False`) instead.
WIDE_NETWORKS = ("hailfinder", "water")
LOG_FLOOR = float(np.log(1e-8))  # SDGym floors each row's probability at 1e-8


@dataclass(frozen=True)
class Node:
    """One variable: its states, its parents (in order) and its CPT.

    `cpt` has shape `(*parent_cardinalities, len(states))` and sums to 1 along the last axis.
    """

    name: str
    states: tuple[str, ...]
    parents: tuple[str, ...]
    cpt: np.ndarray


class Network:
    """A discrete Bayesian network whose nodes are stored in topological order."""

    def __init__(self, name: str, nodes: list[Node]):
        self.name = name
        self.nodes = nodes
        self.index = {node.name: i for i, node in enumerate(nodes)}
        for i, node in enumerate(nodes):
            if any(self.index.get(p, i) >= i for p in node.parents):
                raise ValueError(f"Node {node.name!r} comes before one of its parents")

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.nodes]

    def _parent_index(self, node: Node, codes: np.ndarray) -> np.ndarray:
        """Flat index into `node.cpt.reshape(-1, k)` of each row's parent configuration."""
        if not node.parents:
            return np.zeros(len(codes), dtype=np.int64)
        cols = [codes[:, self.index[p]] for p in node.parents]
        return np.ravel_multi_index(cols, node.cpt.shape[:-1]).astype(np.int64)

    def sample_codes(self, n: int, seed: int) -> np.ndarray:
        """`n` exact draws from the joint as int codes `(n, n_nodes)` (inverse-CDF per node)."""
        rng = np.random.default_rng(seed)
        codes = np.zeros((n, len(self.nodes)), dtype=np.int64)
        for j, node in enumerate(self.nodes):
            probs = node.cpt.reshape(-1, node.cpt.shape[-1])[self._parent_index(node, codes)]
            u = rng.random(n)[:, None]
            codes[:, j] = np.minimum((np.cumsum(probs, axis=1) < u).sum(1), probs.shape[1] - 1)
        return codes

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """`n` rows with the state names as string labels, one column per node."""
        return self.decode(self.sample_codes(n, seed))

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        data = {
            node.name: np.asarray(node.states, dtype=object)[codes[:, j]]
            for j, node in enumerate(self.nodes)
        }
        return pd.DataFrame(data)

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Labels -> int codes `(n, n_nodes)`; a label the network does not know becomes -1."""
        out = np.empty((len(df), len(self.nodes)), dtype=np.int64)
        for j, node in enumerate(self.nodes):
            lookup = {state: i for i, state in enumerate(node.states)}
            out[:, j] = [lookup.get(str(v), -1) for v in df[node.name].to_numpy()]
        return out

    def log_prob(self, codes: np.ndarray, floor: bool = True) -> np.ndarray:
        """log P(row) `(n,)`, with each row's probability floored at 1e-8 (an unknown label,
        coded -1, has probability 0 and so scores the floor); `floor=False` leaves it
        unfloored (-inf for an impossible row)."""
        total = np.zeros(len(codes))
        unknown = (codes < 0).any(axis=1)
        safe = np.where(codes < 0, 0, codes)
        with np.errstate(divide="ignore"):
            for j, node in enumerate(self.nodes):
                flat = node.cpt.reshape(-1, node.cpt.shape[-1])
                total += np.log(flat[self._parent_index(node, safe), safe[:, j]])
        total[unknown] = -np.inf
        return np.maximum(total, LOG_FLOOR) if floor else total

    def mean_log_likelihood(self, df: pd.DataFrame, floor: bool = True) -> float:
        return float(self.log_prob(self.encode(df), floor=floor).mean())

    def fit(self, df: pd.DataFrame, pseudocount: float = 0.5) -> Network:
        """A network with this structure whose CPTs are estimated from the rows of `df`.

        Each CPT cell is `(count + pseudocount) / (parent count + k * pseudocount)`; 0.5 is
        the Krichevsky-Trofimov / Jeffreys estimator, so a test row whose (parents, state) cell
        never occurs in `df` keeps a small probability instead of zero, and a parent
        configuration never seen falls back to uniform. Rows with an unknown label are dropped.
        """
        codes = self.encode(df)
        codes = codes[(codes >= 0).all(axis=1)]
        nodes = []
        for j, node in enumerate(self.nodes):
            k = node.cpt.shape[-1]
            cells = self._parent_index(node, codes) * k + codes[:, j]
            counts = np.bincount(cells, minlength=node.cpt.size).reshape(node.cpt.shape)
            counts = counts + pseudocount
            cpt = counts / counts.sum(axis=-1, keepdims=True)
            nodes.append(Node(node.name, node.states, node.parents, cpt))
        return Network(self.name, nodes)


def _bif_path(name: str) -> Path:
    import pgmpy

    path = Path(pgmpy.__file__).parent / "utils" / "example_models" / f"{name}.bif.gz"
    if not path.exists():
        raise ValueError(f"pgmpy ships no network named {name!r} (looked for {path})")
    return path


def load_network(name: str) -> Network:
    """Reads `NAME.bif.gz` from the installed pgmpy wheel (no network access needed)."""
    import networkx as nx
    from pgmpy.readwrite import BIFReader

    with gzip.open(_bif_path(name), "rt") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BIFReader(string=f.read()).get_model()
    cpds = {cpd.variable: cpd for cpd in model.get_cpds()}
    nodes = []
    for var in nx.topological_sort(model):
        cpd = cpds[var]
        parents = tuple(cpd.variables[1:])
        values = np.asarray(cpd.values, dtype=np.float64)  # (k, *parent_cards)
        cpt = np.moveaxis(values, 0, -1)
        cpt = cpt / cpt.sum(axis=-1, keepdims=True)
        states = tuple(str(s) for s in cpd.state_names[var])
        nodes.append(Node(var, states, parents, cpt))
    return Network(name, nodes)
