"""Phase locked to the harmonics of a known fundamental: a note model's voices in tune.

With noise phase a partial sounds wherever its magnitude peak falls on the 10.8 Hz bin grid,
which is most of a semitone at the bottom of the range. A note-conditioned model knows the
note each voice plays, so `HarmonicPhase` gives the bins of the main lobe of each harmonic
h * f0 (within `LOBE_BINS` of it, where a Hann window's transform is positive) the phase of
an oscillator at exactly h * f0, advanced by 2 pi h f0 hop / sample_rate every hop from
random starting phases at the note's onset. Overlap-added, those bins sound at exactly the
harmonic's frequency, whatever bin the decoded peak sits on. The bins between the main lobes
take the stored noise phase (`NoisePhase`), so noise between partials stays noise, and
`gains` keeps what lies within a quarter of the harmonic spacing of a harmonic (or its main
lobe, if wider), sounds the rest between the harmonics `RESIDUAL_DB` down, and nothing below
the fundamental: what the decoder puts halfway between the note's harmonics (a partial of the
octave below, at 1.5 f0, say) can no longer make the note heard an octave low, and there is
no rumble under a note.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from timbre_jax.dsp.spectral import HOP_LENGTH, N_FFT, SAMPLE_RATE
from timbre_jax.synth.phase import NoisePhase

LOBE_BINS = 2.0  # half-width of a periodic Hann window's main lobe, in bins
RESIDUAL_DB = -20.0  # level of the bins between the harmonics
KEPT_SPACING = 0.25  # bins this close to a harmonic (in harmonic spacings) keep their level


def midi_to_hz(pitch) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(pitch, np.float64) - 69.0) / 12.0)


@lru_cache(maxsize=256)
def harmonic_lobes(f0: float, *, n_fft: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Bins in the main lobe of a harmonic of `f0` Hz, and the index (h - 1) of that harmonic.

    Returns:
      bins [k] int64 and harmonics [k] int64 (0 for the fundamental), each bin with its nearest
      harmonic below Nyquist.
    """
    bins = np.arange(n_fft // 2 + 1)
    position = bins * sample_rate / n_fft / f0  # in harmonics
    nearest = np.maximum(np.rint(position), 1)
    in_lobe = np.abs(position - nearest) * f0 * n_fft / sample_rate < LOBE_BINS
    in_lobe &= nearest * f0 < sample_rate / 2
    return bins[in_lobe], nearest[in_lobe].astype(np.int64) - 1


@lru_cache(maxsize=256)
def below_fundamental(f0: float, *, n_fft: int, sample_rate: int) -> int:
    """How many of the lowest bins lie below the main lobe of the fundamental `f0` Hz."""
    return max(0, int(np.ceil(f0 * n_fft / sample_rate - LOBE_BINS)))


class HarmonicPhase:
    """Per-voice phase locked to exact harmonics of the voice's fundamental.

    Args:
      n_fft, hop_length, sample_rate: the STFT's frame, hop (samples) and rate (Hz).
      seed: seeds the harmonics' starting phases and the noise phase between them.
      start: the frame of the shared noise-phase table this voice starts from.
    """

    def __init__(self, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
                 sample_rate: int = SAMPLE_RATE, seed: int = 0, start: int = 0):  # fmt: skip
        self.n_fft, self.hop_length, self.sample_rate = n_fft, hop_length, sample_rate
        self.noise = NoisePhase(n_fft=n_fft, hop_length=hop_length, seed=seed, start=start)
        self.rng = np.random.default_rng(seed)
        self.f0 = 0.0
        self.oscillators = np.zeros(0)  # window-centre phase of each harmonic, h = 1, 2, ...

    def __call__(self, mag, previous_mag, previous_phase, *, f0: float | None = None):
        """Window-centre phases [n_bins] for a frame of a note at `f0` Hz (noise phase alone
        without one). A new note (another f0, or no previous frame) restarts the harmonics."""
        phase = self.noise(mag, previous_mag, previous_phase).copy()
        if f0 is None:
            return phase
        n_harmonics = int(self.sample_rate / 2 // f0)
        if f0 != self.f0 or not np.any(previous_mag):
            self.f0 = f0
            self.oscillators = self.rng.uniform(-np.pi, np.pi, n_harmonics)
        else:
            step = 2 * np.pi * f0 * self.hop_length / self.sample_rate
            self.oscillators = np.mod(self.oscillators + step * np.arange(1, n_harmonics + 1),
                                      2 * np.pi)  # fmt: skip
        bins, harmonics = harmonic_lobes(f0, n_fft=self.n_fft, sample_rate=self.sample_rate)
        phase[bins] = self.oscillators[harmonics]
        return phase

    def gains(self, f0: float, n_bins: int) -> np.ndarray:
        """[n_bins] 1 in the harmonics' main lobes, `RESIDUAL_DB` between them, 0 below the
        fundamental's main lobe."""
        return harmonic_gains(f0, n_bins=n_bins, n_fft=self.n_fft, sample_rate=self.sample_rate)


@lru_cache(maxsize=256)
def harmonic_gains(f0: float, *, n_bins: int, n_fft: int, sample_rate: int) -> np.ndarray:
    """[n_bins] 1 near a harmonic of `f0` Hz, `RESIDUAL_DB` between, 0 below the fundamental."""
    position = np.arange(n_bins) * sample_rate / n_fft / f0  # in harmonics
    reach = max(KEPT_SPACING, LOBE_BINS * sample_rate / n_fft / f0)  # in harmonics
    near = np.abs(position - np.rint(position)) < reach
    gains = np.where(near, 1.0, 10 ** (RESIDUAL_DB / 20)).astype(np.float32)
    gains[: below_fundamental(f0, n_fft=n_fft, sample_rate=sample_rate)] = 0.0
    gains.flags.writeable = False
    return gains
