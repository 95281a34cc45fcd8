"""A preallocated single-producer, single-consumer ring buffer of float32 samples.

The consumer (the audio callback, compiled: `native_callback`) only copies out of it: no
locks, no allocation, zeros on underrun (counted). Its counters live in an array, so that the
compiled callback and Python share them. Each side advances only its own counter, and the
producer publishes a write only after copying the samples in (behind a fence: `publish`).
"""

from __future__ import annotations

import numpy as np

from timbre_jax.synth.native_callback import (
    MISSING,
    READ,
    RING_COUNTERS_SIZE,
    UNDERRUNS,
    WRITTEN,
    publish,
    read_ring,
)


class RingBuffer:
    """Args: capacity: samples held at most."""

    def __init__(self, capacity: int):
        self.data = np.zeros(capacity, np.float32)
        self.capacity = capacity
        self.counters = np.zeros(RING_COUNTERS_SIZE, np.int64)  # WRITTEN, READ, UNDERRUNS, MISSING

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

    @property
    def missing(self) -> int:
        """Samples those reads were short of: the zeros the stream played in the gaps."""
        return int(self.counters[MISSING])

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
        publish(self.counters, WRITTEN, n)  # after the samples: the callback may read them now

    def read_into(self, out: np.ndarray) -> int:
        """Fills `out` [n] (consumer side), zeros past what is available; returns samples read."""
        return read_ring(self.data, self.counters, out)
