"""A preallocated single-producer, single-consumer ring buffer of float32 samples.

The consumer (the audio callback, compiled: `native_callback`) only copies out of it: no
locks, no allocation, zeros on underrun (counted). Its counters live in an array, so that the
compiled callback and Python share them. Each side advances only its own counter, and the
producer publishes a write only after copying the samples in.
"""

from __future__ import annotations

import numba
import numpy as np

WRITTEN, READ, UNDERRUNS = range(3)  # the counters: samples ever written, ever read, and
# reads that found fewer samples than asked for


@numba.njit(cache=True)
def read_ring(data: np.ndarray, counters: np.ndarray, out: np.ndarray) -> int:
    """Fills `out` [n] from the ring `data` [capacity] and its `counters` (consumer side),
    zeros past what is available; returns samples read."""
    capacity = len(data)
    n = min(len(out), counters[WRITTEN] - counters[READ])
    start = counters[READ] % capacity
    for i in range(n):
        out[i] = data[(start + i) % capacity]
    out[n:] = 0.0
    counters[READ] += n
    if n < len(out):
        counters[UNDERRUNS] += 1
    return n


class RingBuffer:
    """Args: capacity: samples held at most."""

    def __init__(self, capacity: int):
        self.data = np.zeros(capacity, np.float32)
        self.capacity = capacity
        self.counters = np.zeros(3, np.int64)  # WRITTEN, READ, UNDERRUNS

    @property
    def written(self) -> int:
        """Samples ever written (the producer's counter)."""
        return int(self.counters[WRITTEN])

    @property
    def read(self) -> int:
        """Samples ever read (the consumer's counter)."""
        return int(self.counters[READ])

    @property
    def underruns(self) -> int:
        """Reads that found fewer samples than asked for."""
        return int(self.counters[UNDERRUNS])

    def available(self) -> int:
        """Samples written and not yet read."""
        return self.written - self.read

    def write(self, samples: np.ndarray) -> None:
        """Appends samples [n] (producer side); raises if they do not fit."""
        n = len(samples)
        if n > self.capacity - self.available():
            raise OverflowError(
                f"{n} samples do not fit: {self.available()} of {self.capacity} used"
            )
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        self.data[start : start + first] = samples[:first]
        self.data[: n - first] = samples[first:]
        self.counters[WRITTEN] += n  # after the samples: the callback may read them now

    def read_into(self, out: np.ndarray) -> int:
        """Fills `out` [n] (consumer side), zeros past what is available; returns samples read."""
        return read_ring(self.data, self.counters, out)
