"""The seed tutorial's Gumbel-Softmax GAN, ported from TF1 to TF2 as faithfully as we can.

The tutorial ("Neural Networks gone wild! They can sample from discrete distributions now!")
learns a 5-category distribution with:
- generator: a trainable logits vector `(5,)` initialised to ones, sampled through
  `RelaxedOneHotCategorical(temperature=0.001, logits)` (batch of 10 relaxed one-hot rows);
- discriminator: logistic regression (one Dense unit, no activation) on the one-hot rows;
- losses: sigmoid cross-entropy (real -> 1, fake -> 0; generator: fake -> 1);
- two `Adam(7e-4)` optimizers; per iteration 1 discriminator step then 10 generator steps;
  100 iterations ("batches") per epoch, 200 epochs; learned probabilities = softmax(logits).
The data here is our seed toy: 50 rows of a-e drawn with p = [.1, .2, .2, .2, .3] (seeded),
batches of 10 drawn from those rows. Plain TensorFlow with TF1's Adam (no Keras, no
discrete_gan): each optimizer step is one compiled call, as each `sess.run` was one step in
TF1. The relaxed
sample follows TF's own implementation: Gumbel noise from uniform(tiny, 1), softmax of
(logits + g) / tau.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SeedPortResult", "run_seed_port"]

P_TRUE = np.array([0.1, 0.2, 0.2, 0.2, 0.3])
TEMPERATURE = 0.001
LEARNING_RATE = 7e-4
BATCH_SIZE = 10
BATCHES_IN_EPOCH = 100
GENERATOR_TRAINING_FACTOR = 10
N_ROWS = 50


@dataclass
class SeedPortResult:
    """One seed's run: the TVD of softmax(logits) to the data frequencies after each epoch.

    `trace` is a list of `(seconds since training started, tvd)` (evaluation time excluded).
    """

    seed: int
    data_frequencies: list[float]
    learned: list[float]
    tvd_data: float
    tvd_true: float
    train_seconds: float
    epochs: int
    trace: list[tuple[float, float]] = field(default_factory=list)


def _tvd(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum())


def _build(seed: int):
    """The tutorial's variables, optimizers and compiled D / G steps."""
    import tensorflow as tf

    tf.random.set_seed(seed)
    k = len(P_TRUE)
    logits = tf.Variable(tf.ones([k]), name="generator/logits")
    limit = np.sqrt(6.0 / (k + 1))  # Xavier-uniform, as tf.contrib.layers.fully_connected
    init = np.random.default_rng(seed).uniform(-limit, limit, size=(k, 1)).astype(np.float32)
    w = tf.Variable(init, name="d/w")
    b = tf.Variable(tf.zeros([1]), name="d/b")
    # TF1's own Adam (not Keras's, which follows KERAS_BACKEND and may not be TensorFlow).
    d_opt = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE)
    g_opt = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE)
    gen = tf.random.Generator.from_seed(seed)
    tiny = np.finfo(np.float32).tiny

    def generated():
        u = gen.uniform([BATCH_SIZE, k], minval=tiny, maxval=1.0)
        gumbel = -tf.math.log(-tf.math.log(u))
        return tf.nn.softmax((logits + gumbel) / TEMPERATURE)

    def discriminate(x):
        return tf.matmul(x, w) + b

    def xent(scores, label):
        labels = tf.fill(tf.shape(scores), label)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, scores))

    @tf.function
    def d_step(real):
        with tf.GradientTape() as tape:
            loss = xent(discriminate(real), 1.0) + xent(discriminate(generated()), 0.0)
        d_opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))

    @tf.function
    def g_step():
        with tf.GradientTape() as tape:
            loss = xent(discriminate(generated()), 1.0)
        g_opt.apply_gradients([(tape.gradient(loss, logits), logits)])

    return logits, d_step, g_step


def run_seed_port(seed: int, epochs: int = 200) -> SeedPortResult:
    """Trains the ported tutorial GAN for `epochs` epochs on 50 seeded toy rows."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    codes = rng.choice(len(P_TRUE), size=N_ROWS, p=P_TRUE)
    freq = np.bincount(codes, minlength=len(P_TRUE)) / N_ROWS
    one_hot = np.eye(len(P_TRUE), dtype=np.float32)[codes]
    logits, d_step, g_step = _build(seed)
    trace, elapsed = [], 0.0
    for _ in range(epochs):
        batches = one_hot[rng.integers(0, N_ROWS, size=(BATCHES_IN_EPOCH, BATCH_SIZE))]
        start = time.perf_counter()
        for batch in batches:
            d_step(tf.constant(batch))
            for _ in range(GENERATOR_TRAINING_FACTOR):
                g_step()
        elapsed += time.perf_counter() - start
        trace.append((elapsed, _tvd(tf.nn.softmax(logits).numpy(), freq)))
    learned = tf.nn.softmax(logits).numpy()
    return SeedPortResult(
        seed=seed,
        data_frequencies=freq.tolist(),
        learned=learned.tolist(),
        tvd_data=_tvd(learned, freq),
        tvd_true=_tvd(learned, P_TRUE),
        train_seconds=elapsed,
        epochs=epochs,
        trace=trace,
    )
