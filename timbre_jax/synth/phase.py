"""Phase for decoded magnitude frames: stored white-noise phase, or real-time PGHI (and, for
note models, phase locked to the note's harmonics: harmonic_phase.py).

- `NoisePhase` (the paper's): the phase of a stored white-noise STFT, read cyclically.
- `RTPGHI`: real-time phase-gradient heap integration without look-ahead (Prusa & Holighaus,
  "Toward high-quality real-time signal reconstruction from STFT magnitude", 2017). The phase
  time-derivative comes from the frequency-derivative of the log-magnitude and vice versa,
  for the Gaussian that approximates the Hann window (lambda = 0.25645 * n_fft**2); phases are
  integrated from the previous frame and across the current one in order of decreasing
  magnitude. Bins more than `tolerance_db` below the frame's peak get random phase.

Both return phases referenced to the window's centre; `centre_to_frame` converts them for an
FFT of the frame from its first sample. Every method keeps its state between calls, so it can
take over from another mid-stream: each call gets the previous frame's magnitude and phase,
the voice's fundamental `f0` in Hz (None if unknown) and the engine's hop index `hop`, which
only `harmonic` uses (its oscillators run on the engine's clock).
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

from timbre_jax.dsp.spectral import HOP_LENGTH, N_FFT, hann_window, stft
from timbre_jax.errors import ParameterError

PHASE_METHODS = ("noise", "rtpghi", "harmonic")  # harmonic: note models only
HANN_LAMBDA = 0.25645  # Gaussian equivalent of a Hann window: lambda = 0.25645 * n_fft**2


def centre_to_frame(phase: np.ndarray) -> np.ndarray:
    """Adds pi * m to bin m: from window-centre to frame-start phase (n_fft even)."""
    return phase + np.pi * np.arange(phase.shape[-1])


@lru_cache(maxsize=4)
def noise_phases(*, n_fft: int, hop_length: int, n_frames: int, seed: int) -> np.ndarray:
    """[n_frames, n_fft // 2 + 1] window-centre phases of an STFT of seeded white noise."""
    noise = np.random.default_rng(seed).uniform(-1, 1, n_frames * hop_length).astype(np.float32)
    spectrum = np.asarray(stft(noise, window=hann_window(n_fft), hop_length=hop_length))
    phases = np.angle(spectrum) - np.pi * np.arange(spectrum.shape[1])  # window-centre ref.
    phases = phases[:n_frames]
    phases.flags.writeable = False  # shared by every voice
    return phases


class NoisePhase:
    """Cycles through the phases of `n_frames` frames of seeded white noise, from frame
    `start` (voices share one table and start apart)."""

    def __init__(self, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, n_frames: int = 256,
                 seed: int = 0, start: int = 0):  # fmt: skip
        self.phases = noise_phases(n_fft=n_fft, hop_length=hop_length, n_frames=n_frames,
                                   seed=seed)  # fmt: skip
        self.position = start % n_frames

    def __call__(self, mag, previous_mag, previous_phase, *, f0=None, hop=0) -> np.ndarray:
        phase = self.phases[self.position]
        self.position = (self.position + 1) % len(self.phases)
        return phase


@numba.njit(cache=True)
def _heap_integrate(log_mag, previous_log_mag, previous_phase, time_gradient,
                    previous_time_gradient, freq_gradient, significant, random_phase,
                    continues):  # fmt: skip
    """Phase [n_bins] of the current frame; a binary max-heap keyed by log-magnitude. Without
    `continues` (a note's first frame) nothing comes from the previous frame: integration
    starts at the frame's peaks."""
    n = log_mag.shape[0]
    phase = random_phase.copy()
    done = ~significant
    heap_key = np.empty(2 * n + 1)
    heap_bin = np.empty(2 * n + 1, np.int64)  # bin, plus n if it is a current-frame bin
    size = 0
    for m in range(n):  # every significant bin of the previous frame seeds the heap
        if significant[m] and continues:
            heap_key[size], heap_bin[size] = previous_log_mag[m], m
            size = _sift_up(heap_key, heap_bin, size)
    remaining = np.sum(significant)
    while remaining > 0:
        if size == 0:  # start an island at the loudest bin not reached yet
            best, best_key = -1, -np.inf
            for m in range(n):
                if not done[m] and log_mag[m] > best_key:
                    best, best_key = m, log_mag[m]
            phase[best], done[best] = 0.0, True
            remaining -= 1
            heap_key[0], heap_bin[0] = log_mag[best], best + n
            size = 1
        entry = heap_bin[0]
        size = _pop(heap_key, heap_bin, size)
        if entry < n:  # previous frame -> same bin of the current frame, along time
            m = entry
            if not done[m]:
                phase[m] = previous_phase[m] + 0.5 * (previous_time_gradient[m] + time_gradient[m])
                done[m] = True
                remaining -= 1
                heap_key[size], heap_bin[size] = log_mag[m], m + n
                size = _sift_up(heap_key, heap_bin, size)
        else:  # current frame -> neighbouring bins, along frequency
            m = entry - n
            for k, sign in ((m + 1, 1.0), (m - 1, -1.0)):
                if 0 <= k < n and not done[k]:
                    phase[k] = phase[m] + sign * 0.5 * (freq_gradient[m] + freq_gradient[k])
                    done[k] = True
                    remaining -= 1
                    heap_key[size], heap_bin[size] = log_mag[k], k + n
                    size = _sift_up(heap_key, heap_bin, size)
    return phase


@numba.njit(cache=True)
def _sift_up(key, value, size):
    """Restores the heap after appending at index `size`; returns the new size."""
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if key[parent] >= key[i]:
            break
        key[parent], key[i] = key[i], key[parent]
        value[parent], value[i] = value[i], value[parent]
        i = parent
    return size + 1


@numba.njit(cache=True)
def _pop(key, value, size):
    """Removes the root; returns the new size."""
    size -= 1
    key[0], value[0] = key[size], value[size]
    i = 0
    while True:
        left, largest = 2 * i + 1, i
        if left < size and key[left] > key[largest]:
            largest = left
        if left + 1 < size and key[left + 1] > key[largest]:
            largest = left + 1
        if largest == i:
            return size
        key[largest], key[i] = key[i], key[largest]
        value[largest], value[i] = value[i], value[largest]
        i = largest


class RTPGHI:
    """Real-time phase-gradient heap integration (no look-ahead) for Hann-windowed frames.

    Args:
      tolerance_db: bins this far below the frame's peak are left with random phase.
      n_fft, hop_length: the STFT's frame size and hop in samples.
      seed: seed of the random phase of quiet bins.
    """

    def __init__(self, *, tolerance_db: float = -60.0, n_fft: int = N_FFT,
                 hop_length: int = HOP_LENGTH, seed: int = 0):  # fmt: skip
        if not tolerance_db < 0:
            raise ParameterError(f"tolerance_db must be negative, got {tolerance_db!r}")
        self.tolerance_db = tolerance_db
        self.hop_length, self.n_fft = hop_length, n_fft
        self.gamma = HANN_LAMBDA * n_fft**2
        self.rng = np.random.default_rng(seed)
        n_bins = n_fft // 2 + 1
        self.bin_advance = 2 * np.pi * hop_length * np.arange(n_bins) / n_fft
        self.previous_time_gradient = self.bin_advance.copy()

    def __call__(self, mag, previous_mag, previous_phase, *, f0=None, hop=0) -> np.ndarray:
        """Phases [n_bins]; a previous frame of zeros (a note's onset) starts fresh: no phase
        or time gradient of an earlier note is carried over."""
        continues = bool(np.any(previous_mag))
        if not continues:
            self.previous_time_gradient = self.bin_advance.copy()
        log_mag = np.log(np.maximum(mag, 1e-12))
        previous_log_mag = np.log(np.maximum(previous_mag, 1e-12))
        # phase advance per hop: 2 pi hop f_inst, f_inst from the log-magnitude's slope in bins
        slope = np.gradient(log_mag)
        time_gradient = self.bin_advance + self.hop_length * self.n_fft * slope / self.gamma
        # phase change per bin: -(gamma / n_fft) d(log mag)/dt, backward difference in time
        freq_gradient = -self.gamma / self.n_fft * (log_mag - previous_log_mag) / self.hop_length
        significant = log_mag >= log_mag.max() + self.tolerance_db / 20 * np.log(10)
        random_phase = self.rng.uniform(-np.pi, np.pi, log_mag.shape)
        phase = _heap_integrate(log_mag, previous_log_mag, previous_phase, time_gradient,
                                self.previous_time_gradient, freq_gradient, significant,
                                random_phase, continues)  # fmt: skip
        self.previous_time_gradient = time_gradient
        return phase


def make_phase(method: str, *, tolerance_db: float = -60.0, seed: int = 0):
    """A phase method by name: "noise" or "rtpghi" (the engine makes "harmonic" itself)."""
    if method == "noise":
        return NoisePhase(seed=seed)
    if method == "rtpghi":
        return RTPGHI(tolerance_db=tolerance_db, seed=seed)
    raise ParameterError(f"unknown phase method {method!r}; choose one of {PHASE_METHODS[:2]}")
