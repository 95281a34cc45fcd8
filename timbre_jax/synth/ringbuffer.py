"""A preallocated single-producer, single-consumer ring buffer of float32 samples.

The consumer (the audio callback) only copies out of it: no locks, no allocation of sample
memory, zeros on underrun (counted). Each side advances only its own counter, and the
producer publishes a write only after copying the samples in.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Args: capacity: samples held at most."""

    def __init__(self, capacity: int):
        self.data = np.zeros(capacity, np.float32)
        self.capacity = capacity
        self.written = 0  # samples ever written (producer's counter)
        self.read = 0  # samples ever read (consumer's counter)
        self.underruns = 0  # reads that found fewer samples than asked for

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
        self.written += n

    def read_into(self, out: np.ndarray) -> int:
        """Fills `out` [n] (consumer side), zeros past what is available; returns samples read."""
        n = min(len(out), self.available())
        start = self.read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self.data[start : start + first]
        out[first:n] = self.data[: n - first]
        out[n:] = 0.0
        self.read += n
        if n < len(out):
            self.underruns += 1
        return n
