"""The synth engine: latent point + note -> decoded magnitude -> phase -> overlap-add audio.

Every hop (1024 samples at 44.1 kHz) the engine moves its latent point a step toward the
target (one-pole smoothing), decodes one magnitude frame with the jit-compiled decoder, gives
it a phase (`noise` or `rtpghi`), and overlap-adds the inverse FFT, windowed by the same Hann
window, into the output. Gain and the gate's attack/release are ramped sample by sample, so
no control change can step the waveform: after any change (phase method, note, latent jump,
gain) the largest sample-to-sample step of the next 2048 samples stays within 1.5 times the
largest step of the second before it (asserted in tests/test_synth_engine.py). No Qt, no
audio device: it renders offline too.
Setters may be called from any thread; `next_hop` from one thread at a time.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import NamedTuple

import jax
import numpy as np

from timbre_jax.dsp.spectral import hann_window
from timbre_jax.errors import ParameterError
from timbre_jax.synth.phase import PHASE_METHODS, RTPGHI, NoisePhase
from timbre_jax.training.run import Run

SMOOTHING_SECONDS = 0.03  # time constant of the latent point's glide toward its target
ATTACK_SECONDS = 0.01  # gate on: linear rise
RELEASE_SECONDS = 0.2  # gate off: linear fall
LEVEL = 0.25  # amplitude of a decoded frame whose spectrum is one full peak (-12 dBFS sine)
TIMING_WINDOW = 2048  # hops of compute time kept for statistics


class Controls(NamedTuple):
    """What a player sets; the engine's target state."""

    latent: tuple[float, ...]
    note: int  # pitch class, 0 = C
    gain: float  # 0..1
    gate: bool  # sounding or released


def decode_frame(model, params, z, note):
    """One magnitude frame [n_bins] from a latent point [d] and a pitch class (0 = C)."""
    one_hot = jax.nn.one_hot(note, 12)[None]
    return model.apply({"params": params}, z[None], one_hot, method="decode")[0]


class SynthEngine:
    """Streams audio from a trained decoder.

    Args:
      run: a trained model (`run.load_run`), with a chroma skip connection or not.
      phase: "noise" or "rtpghi".
      tolerance_db: RTPGHI's tolerance (quieter bins get random phase).
      seed: seed of the noise phase and RTPGHI's random phases.
    """

    def __init__(self, run: Run, *, phase: str = "noise", tolerance_db: float = -60.0,
                 seed: int = 0):  # fmt: skip
        spectral = run.spectral
        self.sample_rate, self.n_fft = spectral["sample_rate"], spectral["n_fft"]
        self.hop_length = spectral["hop_length"]
        n_bins = run.meta["model"]["n_bins"]
        if n_bins != self.n_fft // 2 + 1 or self.n_fft % self.hop_length:
            raise ParameterError(
                f"the model's {n_bins} bins do not fit n_fft={self.n_fft} "
                f"and hop_length={self.hop_length}: the engine overlap-adds n_fft // 2 + 1 bins "
                "at a hop that divides n_fft"
            )
        self.latent_dim, self.bottleneck = run.latent_dim, run.bottleneck
        self._decode = jax.jit(partial(decode_frame, run.model, run.params))
        self.window = hann_window(self.n_fft)
        self._ola_norm = float(np.sum(self.window**2)) / self.hop_length  # 1.5 at 75% overlap
        self._scale = LEVEL * float(self.window.sum()) / 2
        self._frame_phase = np.pi * np.arange(self.n_fft // 2 + 1)  # centre -> frame start
        self.phases = {"noise": NoisePhase(n_fft=self.n_fft, hop_length=self.hop_length, seed=seed),
                       "rtpghi": RTPGHI(tolerance_db=tolerance_db, n_fft=self.n_fft,
                                        hop_length=self.hop_length, seed=seed)}  # fmt: skip
        self._controls_lock = threading.Lock()
        self.controls = Controls((0.5,) * self.latent_dim, 0, 0.8, True)
        self._latent = np.full(self.latent_dim, 0.5, np.float32)
        self._gain, self._envelope = self.controls.gain, 1.0
        self._alpha = 1.0 - np.exp(-self.hop_length / (self.sample_rate * SMOOTHING_SECONDS))
        self._ola = np.zeros(self.n_fft, np.float32)
        self.last_magnitude = np.zeros(self.n_fft // 2 + 1, np.float32)
        self.last_peak = 0.0
        self._previous_phase = np.zeros(self.n_fft // 2 + 1)
        self.hop_seconds = np.zeros(TIMING_WINDOW)
        self.hops = 0
        for method in PHASE_METHODS:  # compile the decoder and numba's heap before real time
            self.set_phase(method)
            self.next_hop()
        self.set_phase(phase)
        self.reset()

    # controls: each replaces one immutable tuple, so a reader never sees half an update;
    # the lock keeps two writers (the panel, MIDI) from losing each other's change
    def _update(self, **fields) -> None:
        with self._controls_lock:
            self.controls = self.controls._replace(**fields)

    def set_latent(self, values) -> None:
        values = tuple(float(v) for v in values)
        if len(values) != self.latent_dim or not np.all(np.isfinite(values)):
            raise ParameterError(f"latent needs {self.latent_dim} finite values, got {values!r}")
        self._update(latent=values)

    def set_note(self, note: int) -> None:
        if not 0 <= int(note) < 12:
            raise ParameterError(f"note must be a pitch class 0-11, got {note!r}")
        self._update(note=int(note))

    def set_gain(self, gain: float) -> None:
        if not 0.0 <= gain <= 1.0:
            raise ParameterError(f"gain must be in [0, 1], got {gain!r}")
        self._update(gain=float(gain))

    def set_gate(self, on: bool) -> None:
        self._update(gate=bool(on))

    def set_phase(self, method: str) -> None:
        if method not in PHASE_METHODS:
            raise ParameterError(f"unknown phase method {method!r}; choose one of {PHASE_METHODS}")
        self.phase = method

    def reset(self) -> None:
        """Silence the overlap-add buffer and jump to the controls (no glide)."""
        self._ola[:] = 0.0
        self._latent = np.asarray(self.controls.latent, np.float32)
        self._gain = self.controls.gain
        self._envelope = 1.0 if self.controls.gate else 0.0
        self.hops = 0

    def _ramp(self, start: float, stop: float) -> np.ndarray:
        return np.linspace(start, stop, self.hop_length, endpoint=False, dtype=np.float32)

    def next_hop(self) -> np.ndarray:
        """The next `hop_length` output samples [hop_length] float32."""
        started = time.perf_counter()
        controls = self.controls
        self._latent = self._latent + self._alpha * (
            np.asarray(controls.latent, np.float32) - self._latent
        )
        mag = np.asarray(self._decode(self._latent, controls.note), np.float64) * self._scale
        phase = self.phases[self.phase](mag, self.last_magnitude, self._previous_phase)
        frame = np.fft.irfft(mag * np.exp(1j * (phase + self._frame_phase)), n=self.n_fft)
        self._ola += (frame * self.window / self._ola_norm).astype(np.float32)
        out = self._ola[: self.hop_length].copy()
        self._ola[: -self.hop_length] = self._ola[self.hop_length :]
        self._ola[-self.hop_length :] = 0.0
        # gain glides over one hop; the gate's envelope moves at fixed rates
        gains = self._ramp(self._gain, controls.gain)
        self._gain = controls.gain
        step = self.hop_length / self.sample_rate
        target = 1.0 if controls.gate else 0.0
        rate = step / ATTACK_SECONDS if controls.gate else step / RELEASE_SECONDS
        new_envelope = float(
            np.clip(self._envelope + np.sign(target - self._envelope) * rate, 0, 1)
        )
        out *= gains * self._ramp(self._envelope, new_envelope)
        self._envelope = new_envelope
        self.last_magnitude, self._previous_phase = mag, phase
        self.last_peak = float(np.max(np.abs(out)))
        self.hop_seconds[self.hops % TIMING_WINDOW] = time.perf_counter() - started
        self.hops += 1
        return out

    def render(self, seconds: float) -> np.ndarray:
        """`seconds` of audio [round(seconds * sample_rate)] with the current controls."""
        n = round(seconds * self.sample_rate)
        hops = [self.next_hop() for _ in range(-(-n // self.hop_length))]
        return np.concatenate(hops)[:n] if hops else np.zeros(0, np.float32)

    def timing(self) -> dict:
        """Median and 99th percentile of recent per-hop compute times, in milliseconds."""
        recent = self.hop_seconds[: min(self.hops, TIMING_WINDOW)]
        if not len(recent):
            return {"median_ms": 0.0, "p99_ms": 0.0}
        return {
            "median_ms": 1e3 * float(np.median(recent)),
            "p99_ms": 1e3 * float(np.percentile(recent, 99)),
        }
