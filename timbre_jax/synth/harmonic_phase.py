"""Phase locked to the harmonics of a known fundamental: a note model's voices in tune.

With noise phase a partial sounds wherever its magnitude peak falls on the 10.8 Hz bin grid,
which is most of a semitone at the bottom of the range. A note-conditioned model knows the
note each voice plays, so `HarmonicPhase` gives the bins of the main lobe of each harmonic
h * f0 (within `LOBE_BINS` of it, where a Hann window's transform is positive) the phase of
an oscillator at exactly h * f0 on the engine's clock: 2 pi f t + theta(f) at the hop's
time t, with a starting phase theta that depends on the frequency alone (`start_phase`).
Overlap-added, those bins sound at exactly the harmonic's frequency, whatever bin the decoded
peak sits on; and where the voices of a chord share a partial (C4's second harmonic is C5's
first), the voices' oscillators are one oscillator, so the partial sums coherently instead of
reinforcing or cancelling by the chance of random starting phases.

`HarmonicPhase.shape` first moves each harmonic's energy onto its exact frequency: the energy
of the bins within a quarter of the harmonic spacing of h * f0 (or its main lobe, if wider)
is put into a Hann main lobe centred on h * f0, so a partial the decoder places off the
harmonic (a high note decoded a semitone flat in a corner of the pad) sounds at the harmonic
with the decoded level; what lies between the harmonics sounds `residual_db` down (with noise
phase, so noise stays noise), and nothing below the fundamental: what the decoder puts halfway
between the note's harmonics (a partial of the octave below, at 1.5 f0) can no longer make the
note heard an octave low, and there is no rumble under a note. The decoded timbre is kept as
the level of each harmonic.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from timbre_jax.dsp.spectral import HOP_LENGTH, N_FFT, SAMPLE_RATE
from timbre_jax.synth.phase import NoisePhase

GOLDEN = (5**0.5 - 1) / 2  # spreads the starting phases of neighbouring frequencies
LOBE_BINS = 2.0  # half-width of a periodic Hann window's main lobe, in bins
# level of the bins between the harmonics, by default: the highest at which pYIN hears the
# note at every point of a 5 x 5 pad (violin G3, A4, E6; keys C4, C6), with the most of the
# decoded timbre (launch/bench_residual.py: violin A4's variety 0.78 of noise phase's, 0.68
# at -20 dB)
RESIDUAL_DB = -12.0
KEPT_SPACING = 0.25  # bins this close to a harmonic (in harmonic spacings) keep their level


def midi_to_hz(pitch) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(pitch, np.float64) - 69.0) / 12.0)


def start_phase(hz: np.ndarray) -> np.ndarray:
    """Phase (radians) at t = 0 of the oscillator at `hz`, a function of the frequency alone
    (rounded to a millihertz, so that h * f0 of two voices an octave apart agree): spread
    over the circle, so the harmonics of one note start at unrelated phases."""
    return 2 * np.pi * np.mod(np.rint(np.asarray(hz) * 1e3) * GOLDEN, 1.0)


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
      seed: seeds the noise phase between the harmonics.
      start: the frame of the shared noise-phase table this voice starts from.
    """

    def __init__(self, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
                 sample_rate: int = SAMPLE_RATE, seed: int = 0, start: int = 0):  # fmt: skip
        self.n_fft, self.hop_length, self.sample_rate = n_fft, hop_length, sample_rate
        self.noise = NoisePhase(n_fft=n_fft, hop_length=hop_length, seed=seed, start=start)

    def __call__(self, mag, previous_mag, previous_phase, *, f0: float | None = None,
                 hop: int = 0, ratio: float = 1.0, detune: float = 0.0,
                 started_at: float | None = None) -> np.ndarray:  # fmt: skip
        """Window-centre phases [n_bins] of the frame at the engine's hop `hop`, for a note at
        `f0` Hz (noise phase alone without one), bent to `ratio` times `f0`.

        A bent note's oscillators glide: `detune` is how many cycles of its fundamental the
        bend has added since the note began (the engine's running sum of (ratio - 1) f0 over
        time), so harmonic h has run h * detune cycles more than at f0. A channel bend bends
        every voice by one ratio, so partials that voices share stay one oscillator.
        `started_at`: the fundamental the note's oscillators started at (their phases at
        t = 0 are those of its harmonics; default `f0`): a note moved by legato keeps its
        first note's, so that its oscillators run on."""
        phase = self.noise(mag, previous_mag, previous_phase).copy()
        if f0 is None:
            return phase
        bins, harmonics = harmonic_lobes(f0 * ratio, n_fft=self.n_fft,
                                         sample_rate=self.sample_rate)  # fmt: skip
        number = np.arange(harmonics.max() + 1) + 1 if len(bins) else np.zeros(0)
        seconds = hop * self.hop_length / self.sample_rate
        cycles = np.mod(number * f0 * seconds + np.mod(number * detune, 1.0), 1.0)
        oscillators = 2 * np.pi * cycles + start_phase(number * (started_at or f0))
        phase[bins] = oscillators[harmonics]
        return phase

    def shape(self, mag: np.ndarray, f0: float, residual_db: float = RESIDUAL_DB) -> np.ndarray:
        """[n_bins] the frame with each harmonic's energy in a main lobe at exactly h * f0,
        `residual_db` between the harmonics, nothing below the fundamental's lobe."""
        return shape_harmonics(mag, f0, n_fft=self.n_fft, sample_rate=self.sample_rate,
                               residual_db=residual_db)  # fmt: skip


def hann_lobe(offset: np.ndarray) -> np.ndarray:
    """A periodic Hann window's transform at `offset` bins from a sinusoid's frequency
    (long-window approximation), 1 at 0."""
    return np.sinc(offset) + 0.5 * (np.sinc(offset - 1) + np.sinc(offset + 1))


@lru_cache(maxsize=256)
def harmonic_regions(f0: float, *, n_bins: int, n_fft: int, sample_rate: int):
    """Where each harmonic of `f0` Hz gathers and puts its energy.

    Returns:
      region [n_bins] int64: the index (h - 1) of the harmonic a bin's energy belongs to (within
        max(`KEPT_SPACING` spacings, `LOBE_BINS`) of it, below Nyquist), -1 between harmonics;
      bins [k], harmonics [k]: the main-lobe bins of each harmonic (`harmonic_lobes`);
      kernel [k]: the Hann main lobe at each harmonic's exact frequency, of unit energy per
        harmonic.
    """
    position = np.arange(n_bins) * sample_rate / n_fft / f0  # in harmonics
    nearest = np.maximum(np.rint(position), 1)
    reach = max(KEPT_SPACING, LOBE_BINS * sample_rate / n_fft / f0)  # in harmonics
    near = (np.abs(position - nearest) < reach) & (nearest * f0 < sample_rate / 2)
    region = np.where(near, nearest - 1, -1).astype(np.int64)
    bins, harmonics = harmonic_lobes(f0, n_fft=n_fft, sample_rate=sample_rate)
    kernel = hann_lobe(bins - (harmonics + 1) * f0 * n_fft / sample_rate)
    norm = np.bincount(harmonics, weights=kernel**2)
    kernel = kernel / np.sqrt(norm[harmonics])
    for array in (region, kernel):
        array.flags.writeable = False
    return region, bins, harmonics, kernel


def shape_harmonics(mag: np.ndarray, f0: float, *, n_fft: int, sample_rate: int,
                    residual_db: float = RESIDUAL_DB) -> np.ndarray:  # fmt: skip
    """`HarmonicPhase.shape` of one frame [n_bins] (float32)."""
    region, bins, harmonics, kernel = harmonic_regions(f0, n_bins=len(mag), n_fft=n_fft,
                                                       sample_rate=sample_rate)  # fmt: skip
    inside = region >= 0
    energy = np.bincount(region[inside], weights=np.square(mag[inside], dtype=np.float64),
                         minlength=harmonics.max() + 1 if len(harmonics) else 0)  # fmt: skip
    out = np.where(inside, 0.0, mag * 10 ** (residual_db / 20))
    out[bins] = np.sqrt(energy[harmonics]) * kernel
    out[: below_fundamental(f0, n_fft=n_fft, sample_rate=sample_rate)] = 0.0
    return out.astype(np.float32)
