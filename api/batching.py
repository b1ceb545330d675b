"""Dynamic micro-batching: concurrent draws of one model version share one compiled call.

Every row of a draw is a pure function of (generator weights, seed, row index): block `b` of a
draw with seed `s` takes its noise and its Gumbel noise from `seeding.block_keys(s, stream, b)`
and from nothing else (see `discrete_gan.sampling`). So the blocks of many requests, each with
its own seed, can be stacked into one `Sampler.draw_blocks` call and cut apart afterwards, and
each request gets exactly the rows it would have got alone. Under load that turns a queue of
small compiled calls (each paying the dispatch overhead for 256 rows) into one call per
`window_s`, which is what bounds latency when many clients ask at once.

One worker thread per batcher runs the calls. It starts on the first request and ends after
`idle_s` without one, so a model version swapped out of the store leaves no thread behind.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

from discrete_gan import seeding
from discrete_gan.sampling import BLOCK_ROWS, Sampler
from discrete_gan.validation import check_float, check_int

__all__ = ["MicroBatcher"]


class _Job:
    __slots__ = ("enqueued", "future", "keys_u", "keys_z", "n", "skip")

    def __init__(self, keys_z: np.ndarray, keys_u: np.ndarray, skip: int, n: int):
        self.keys_z, self.keys_u, self.skip, self.n = keys_z, keys_u, skip, n
        self.future: Future[np.ndarray] = Future()
        self.enqueued = time.monotonic()

    @property
    def blocks(self) -> int:
        return len(self.keys_z)


class MicroBatcher:
    """Merges concurrent unconditional draws of one sampler into shared compiled calls.

    Args:
        sampler: the model version's `Sampler`.
        window_s: how long the first request of a batch waits for others to join (0: no wait;
            requests that queue while a call runs still share the next one).
        max_rows: the most rows (in whole blocks of 256) one call computes; capped by the
            sampler's own chunk size. Requests needing more go through the sampler directly.
        idle_s: the worker thread ends after this long without requests.
        observe: called with `(requests, rows)` after each call (metrics).
    """

    def __init__(
        self,
        sampler: Sampler,
        window_s: float = 0.001,
        max_rows: int = 8192,
        idle_s: float = 5.0,
        observe: Callable[[int, int], None] | None = None,
    ):
        self.sampler = sampler
        self.window_s = check_float("window_s", window_s, 0.0, 1.0)
        check_int("max_rows", max_rows, BLOCK_ROWS)
        self.max_blocks = min(max_rows // BLOCK_ROWS, sampler.max_blocks)
        self.idle_s = check_float("idle_s", idle_s, 0.0)
        self.observe = observe
        self.calls = 0
        self.requests = 0
        self._queue: deque[_Job] = deque()
        self._cv = threading.Condition()
        self._worker: threading.Thread | None = None

    @property
    def max_request_rows(self) -> int:
        """The largest `n` (from row 0) that fits one call and so can be batched."""
        return self.max_blocks * BLOCK_ROWS

    def accepts(self, n: int, start: int = 0) -> bool:
        """Whether rows `start, ..., start + n - 1` fit in one call."""
        skip = start % BLOCK_ROWS
        return n > 0 and -(-(skip + n) // BLOCK_ROWS) <= self.max_blocks

    def submit(self, n: int, seed: int, start: int = 0) -> Future[np.ndarray]:
        """A future of rows `start, ..., start + n - 1` of `seed` as int32 `(n, n_columns)`.

        The rows equal `sampler.sample_codes(n, seed, start)`. Raises `ValueError` if the
        request does not fit one call (see `accepts`).
        """
        n, start = check_int("n", n, 1), check_int("start", start, 0)
        seed = seeding.resolve_seed(seed)
        if not self.accepts(n, start):
            raise ValueError(
                f"Invalid value for `n`. Expected at most {self.max_request_rows} rows in one "
                f"batched draw. Received: n={n}, start={start}"
            )
        first, skip = divmod(start, BLOCK_ROWS)
        count = -(-(skip + n) // BLOCK_ROWS)
        job = _Job(
            seeding.block_keys(seed, "sample.noise", first, count),
            seeding.block_keys(seed, "sample.gumbel", first, count),
            skip,
            n,
        )
        with self._cv:
            self._queue.append(job)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="discrete-gan-batcher", daemon=True
                )
                self._worker.start()
            else:
                self._cv.notify()
        return job.future

    def codes(self, n: int, seed: int, start: int = 0, timeout: float | None = None) -> np.ndarray:
        """`submit(...)`'s rows, waiting for them (a blocking call)."""
        return self.submit(n, seed, start).result(timeout)

    # ----------------------------------------------------------------- worker
    def _queued_blocks(self) -> int:
        return sum(job.blocks for job in self._queue)

    def _next_batch(self) -> list[_Job] | None:
        """Waits for requests (None after `idle_s` without any), then takes one call's worth."""
        with self._cv:
            idle_until = time.monotonic() + self.idle_s
            while not self._queue:
                left = idle_until - time.monotonic()
                if left <= 0:
                    self._worker = None
                    return None
                self._cv.wait(left)
            close_at = self._queue[0].enqueued + self.window_s
            while self._queued_blocks() < self.max_blocks:
                left = close_at - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            batch, blocks = [], 0
            while self._queue and blocks + self._queue[0].blocks <= self.max_blocks:
                job = self._queue.popleft()
                if job.future.set_running_or_notify_cancel():  # False: the client went away
                    batch.append(job)
                    blocks += job.blocks
            return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            if batch:
                self._execute(batch)

    def _execute(self, batch: list[_Job]) -> None:
        try:
            keys_z = np.concatenate([job.keys_z for job in batch])
            keys_u = np.concatenate([job.keys_u for job in batch])
            codes, _ = self.sampler.draw_blocks(keys_z, keys_u)
        except BaseException as e:  # every waiting request gets the error, the worker lives on
            for job in batch:
                job.future.set_exception(e)
            return
        offset = 0
        for job in batch:
            begin = offset * BLOCK_ROWS + job.skip
            job.future.set_result(codes[begin : begin + job.n])
            offset += job.blocks
        self.calls += 1
        self.requests += len(batch)
        if self.observe is not None:
            self.observe(len(batch), offset * BLOCK_ROWS)
