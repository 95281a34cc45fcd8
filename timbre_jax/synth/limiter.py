"""The output bus's limiter: the sum of many voices never goes past full scale.

Each hop, if the hop's peak would exceed `CEILING` (-1 dBFS), the limiter's gain glides over
the hop to the gain that brings it to the ceiling; otherwise it recovers toward 1 with a
`RELEASE_SECONDS` time constant. What still overshoots during the glide (a peak early in the
hop) is bent by a soft clip above the ceiling that approaches but never reaches 1.0. A single voice
at full velocity peaks near -12 dBFS and never touches it; a chord of four loud voices in
phase can.
"""

from __future__ import annotations

import numpy as np

CEILING = 10 ** (-1 / 20)  # -1 dBFS
KNEE = CEILING  # the soft clip leaves samples below the ceiling untouched
LIMIT = 10 ** (-0.1 / 20)  # ... and bends the rest toward -0.1 dBFS
RELEASE_SECONDS = 0.3


def soft_clip(x: np.ndarray) -> np.ndarray:
    """Identity below KNEE in magnitude; above it a tanh curve toward LIMIT (< 1)."""
    magnitude = np.abs(x)
    over = magnitude > KNEE
    if not over.any():
        return x
    bent = KNEE + (LIMIT - KNEE) * np.tanh((magnitude[over] - KNEE) / (LIMIT - KNEE))
    out = x.copy()
    out[over] = np.sign(x[over]) * bent
    return out


class Limiter:
    """Args: hop_length, sample_rate: the hop it is called with, in samples, and its rate."""

    def __init__(self, *, hop_length: int, sample_rate: int):
        self.gain = 1.0
        self._recovery = 1.0 - float(np.exp(-hop_length / (sample_rate * RELEASE_SECONDS)))
        self._ramp = np.linspace(0, 1, hop_length, endpoint=False, dtype=np.float32)

    def __call__(self, hop: np.ndarray) -> np.ndarray:
        """The hop [hop_length] float32, limited."""
        peak = float(np.max(np.abs(hop))) if len(hop) else 0.0
        wanted = min(1.0, CEILING / peak) if peak > 0 else 1.0
        target = min(wanted, self.gain + self._recovery * (1.0 - self.gain))
        if target == 1.0 and self.gain == 1.0:
            return soft_clip(hop)
        gains = self.gain + (target - self.gain) * self._ramp  # float32, as the hop
        self.gain = target
        return soft_clip(hop * gains)
