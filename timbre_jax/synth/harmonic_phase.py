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
with the decoded level. What lies between the harmonics (bow noise, breath) is spread evenly
over each harmonic spacing and sounds `residual_db` down, with noise phase: what the decoder
puts halfway between the note's harmonics (a partial of the octave below, at 1.5 f0) becomes
noise of that level and can no longer make the note heard an octave low. So does what it
puts under the fundamental, down to `RESIDUAL_FROM_HZ` (below it, the noise's frames leaked
under 20 Hz: a rumble), at most `UNDER_CAP_DB` below the harmonics' energy: where a decoder
puts a lower note there (a high violin key in a corner of the pad), the noise cannot drown
the note played. The decoded timbre is kept as the level of each harmonic and the envelope
of the noise between and under them.
"""

from __future__ import annotations

import numba
import numpy as np

from timbre_jax.dsp.spectral import HOP_LENGTH, N_FFT, SAMPLE_RATE
from timbre_jax.synth.phase import NoisePhase

GOLDEN = (5**0.5 - 1) / 2  # spreads the starting phases of neighbouring frequencies
LOBE_BINS = 2.0  # half-width of a periodic Hann window's main lobe, in bins
# level of the residual (spread between the harmonics), by default: the highest at which pYIN
# hears the pressed key at every point of a 5 x 5 pad (violin G3, A4, E6; keys C4, C6;
# launch/bench_residual.py: violin A4's variety 0.93 of noise phase's) and every trained
# violin key at a 3 x 3 grid with the corners (launch/audit_pitch.py; at -4 dB two keys have
# no pitch at one corner)
RESIDUAL_DB = -5.0
# the residual under the fundamental: from this frequency up (lower, noise frames leaked under
# 20 Hz at -22 dB of a violin key's power), and at most this far below the harmonics' energy
# (higher, pYIN heard no pitch or a lower note at 10 of 414 violin keys x points at -5 dB:
# launch/audit_pitch.py --grid 3)
RESIDUAL_FROM_HZ = 60.0
UNDER_CAP_DB = -10.0
KEPT_SPACING = 0.25  # bins this close to a harmonic (in harmonic spacings) keep their level
FADE = 0.1  # harmonic spacings over which a bin at that border goes from kept to residual


def midi_to_hz(pitch) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(pitch, np.float64) - 69.0) / 12.0)


@numba.njit(cache=True)
def _harmonic_near(b: int, f0: float, n_fft: int, sample_rate: int) -> tuple[int, float]:
    """The number (1 for the fundamental) of the harmonic of `f0` Hz nearest bin `b`, 0 where
    that harmonic is at or above Nyquist, and the bin's distance from it in harmonics."""
    position = b * sample_rate / n_fft / f0
    nearest = max(np.rint(position), 1.0)
    return (int(nearest) if nearest * f0 < sample_rate / 2 else 0), abs(position - nearest)


@numba.njit(cache=True)
def nearest_harmonics(f0: float, n_bins: int, n_fft: int, sample_rate: int,
                      reach: float) -> np.ndarray:  # fmt: skip
    """[n_bins] int64: for each bin, the index (h - 1) of the harmonic of `f0` Hz nearest it
    if it lies within `reach` harmonics of it and the harmonic is below Nyquist, else -1.
    Compiled, so that a bent voice's fundamental, new every hop, costs what a held one does."""
    owner = np.full(n_bins, -1, np.int64)
    for b in range(n_bins):
        number, distance = _harmonic_near(b, f0, n_fft, sample_rate)
        if number and distance < reach:
            owner[b] = number - 1
    return owner


@numba.njit(cache=True)
def lobe_reach(f0: float, n_fft: int, sample_rate: int) -> float:
    """A harmonic's main lobe, `LOBE_BINS` either side, in harmonics of `f0` Hz."""
    return LOBE_BINS * sample_rate / n_fft / f0


@numba.njit(cache=True)
def start_phase(hz: float) -> float:
    """Phase (radians) at t = 0 of the oscillator at `hz`, a function of the frequency alone
    (rounded to a millihertz, so that h * f0 of two voices an octave apart agree): spread
    over the circle, so the harmonics of one note start at unrelated phases."""
    return 2 * np.pi * ((np.rint(hz * 1e3) * GOLDEN) % 1.0)


@numba.njit(cache=True)
def _lock_to_harmonics(phase, heard, f0, seconds, detune, started_at, n_fft, sample_rate):
    """Sets the bins [n_bins] in the main lobe of each harmonic h of the `heard` fundamental
    (Hz) to its oscillator's phase at `seconds`: h cycles of `f0` a second, plus h `detune`
    cycles, from the starting phase of h * `started_at`."""
    owner = nearest_harmonics(heard, len(phase), n_fft, sample_rate,
                              lobe_reach(heard, n_fft, sample_rate))  # fmt: skip
    for b in range(len(phase)):
        if owner[b] >= 0:
            number = owner[b] + 1.0
            cycles = (number * f0 * seconds + (number * detune) % 1.0) % 1.0
            phase[b] = 2 * np.pi * cycles + start_phase(number * started_at)


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
        if f0 is not None:
            seconds = hop * self.hop_length / self.sample_rate
            _lock_to_harmonics(phase, f0 * ratio, f0, seconds, detune, started_at or f0,
                               self.n_fft, self.sample_rate)  # fmt: skip
        return phase

    def shape(self, mag: np.ndarray, f0: float, residual_db: float = RESIDUAL_DB) -> np.ndarray:
        """[n_bins] the frame with each harmonic's energy in a main lobe at exactly h * f0,
        `residual_db` between and under the harmonics."""
        return shape_harmonics(mag, f0, n_fft=self.n_fft, sample_rate=self.sample_rate,
                               residual_db=residual_db)  # fmt: skip


@numba.njit(cache=True)
def hann_lobe(offset: float) -> float:
    """A periodic Hann window's transform at `offset` bins from a sinusoid's frequency
    (long-window approximation), 1 at 0."""
    total = 0.0
    for x, weight in ((offset, 1.0), (offset - 1, 0.5), (offset + 1, 0.5)):
        total += weight * (1.0 if x == 0 else np.sin(np.pi * x) / (np.pi * x))
    return total


@numba.njit(cache=True)
def _shape(mag, f0, n_fft, sample_rate, residual_gain):
    """`shape_harmonics` compiled, `residual_gain` as an amplitude ratio."""
    n_bins = len(mag)
    lobe = lobe_reach(f0, n_fft, sample_rate)
    reach = max(KEPT_SPACING, lobe)  # in harmonics
    lobes = nearest_harmonics(f0, n_bins, n_fft, sample_rate, lobe)
    harmonics = int(sample_rate / 2 / f0) + 1
    energy, norm = np.zeros(harmonics), np.zeros(harmonics)
    kernel = np.zeros(n_bins)
    below = int(np.ceil(RESIDUAL_FROM_HZ * n_fft / sample_rate))  # no residual under it
    fundamental = min(n_bins, max(0, int(np.ceil(f0 * n_fft / sample_rate - LOBE_BINS))))
    half = max(1, int(f0 * n_fft / sample_rate / 2))  # half a harmonic spacing, in bins
    sounding = np.zeros(n_bins + 1)  # running count of the bins that sound the residual
    for b in range(n_bins):
        sounding[b + 1] = sounding[b] + (b >= below and lobes[b] < 0)
    received = np.zeros(n_bins + 1)  # residual power per bin, as a difference array
    for b in range(n_bins):
        power = np.float64(mag[b]) ** 2
        number, distance = _harmonic_near(b, f0, n_fft, sample_rate)
        # gathered within `reach` of a harmonic, between them beyond: a bin at the border
        # splits its energy (over `FADE` harmonics), so a partial crossing it moves smoothly
        gathered = min(max((reach + FADE / 2 - distance) / FADE, 0.0), 1.0) if number else 0.0
        if gathered > 0:
            energy[number - 1] += gathered * power
        low, high = max(0, b - half), min(n_bins, b + half + 1)
        count = sounding[high] - sounding[low]
        if b >= below and gathered < 1 and count > 0:  # shared by the bins a spacing around
            received[low] += (1 - gathered) * power / count
            received[high] -= (1 - gathered) * power / count
        if lobes[b] >= 0:  # the Hann main lobe at the harmonic's exact frequency
            kernel[b] = hann_lobe(b - (lobes[b] + 1) * f0 * n_fft / sample_rate)
            norm[lobes[b]] += kernel[b] ** 2
    out = np.zeros(n_bins, np.float32)
    level = 0.0
    for b in range(n_bins):
        level += received[b]
        if lobes[b] >= 0:  # of unit energy per harmonic, scaled to the harmonic's energy
            out[b] = np.sqrt(energy[lobes[b]] / norm[lobes[b]]) * kernel[b]
        elif b >= below:  # the residual, its energy kept
            out[b] = residual_gain * np.sqrt(max(level, 0.0))
    _cap_under(out, fundamental, energy.sum() * 10 ** (UNDER_CAP_DB / 10))
    return out


@numba.njit(cache=True)
def _cap_under(out, bins, most):
    """Scales the first `bins` of `out` so that their energy is at most `most`."""
    energy = 0.0
    for b in range(bins):
        energy += np.float64(out[b]) ** 2
    if energy > most:
        scale = np.sqrt(most / energy)
        for b in range(bins):
            out[b] *= scale


def shape_harmonics(mag: np.ndarray, f0: float, *, n_fft: int, sample_rate: int,
                    residual_db: float = RESIDUAL_DB) -> np.ndarray:  # fmt: skip
    """`HarmonicPhase.shape` of one frame [n_bins] (float32): each harmonic gathers the energy
    of the bins within max(`KEPT_SPACING` spacings, `LOBE_BINS`) of it into a Hann main lobe
    at its exact frequency; the energy of each bin between them (the residual) is shared
    evenly by the bins within half a harmonic spacing of it (not the harmonics' lobes, none
    below `RESIDUAL_FROM_HZ`), and scaled by `residual_db`; under the fundamental its energy
    is at most `UNDER_CAP_DB` below the harmonics'. Left where the decoder put it,
    between the harmonics, it was a comb half a harmonic off, the partials of the octave
    below, and pYIN heard that octave at -6 dB (violin A4, 8 of 25 pad points); spread, it
    is noise with the decoded envelope."""
    gain = 10 ** (residual_db / 20)
    return _shape(np.asarray(mag, np.float32), float(f0), n_fft, sample_rate, gain)
