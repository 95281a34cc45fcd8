"""Chroma of STFT magnitude frames and its one-hot vector.

Two filterbanks map the power spectrum to the 12 pitch classes (index 0 = C):

- `pitch_filterbank` (default), the paper's: 88 pitch bands from A0 to C8 (MIDI 21-108) on the
  power spectrum, summed by pitch class. A bin at fractional MIDI pitch m gives weight
  max(0, 1 - |m - p|) to band p, so each bin's power is split between its two nearest bands.
  Below about 100 Hz the 10.8 Hz bin spacing is wider than a semitone and some low bands hold
  no bin: the class of a low note then comes from its harmonics.
- `librosa`: `librosa.filters.chroma` (the filterbank of `librosa.feature.chroma_stft`, which
  the paper's published code used) with tuning fixed at 0 so that it is one fixed matrix.

Filterbanks are NumPy matrices [n_bins, 12] built once on the host; `chroma` applies one with a
single product in `jnp`, so it runs inside `jit`/`vmap` on decoded frames too.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from timbre_jax.errors import ParameterError

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
CHROMA_METHODS = ("pitch_filterbank", "librosa")
MIDI_LOW, MIDI_HIGH = 21, 108  # A0 and C8: the 88 keys of a piano


def note_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name: 60 -> "C4", 61 -> "C#4"."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def pitch_bands(*, sample_rate: int, n_fft: int) -> np.ndarray:
    """The paper's 88 pitch bands (MIDI 21-108) on the STFT bins: [n_fft // 2 + 1, 88]."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    with np.errstate(divide="ignore"):
        midi = 69.0 + 12.0 * np.log2(freqs / 440.0)  # -inf at DC: no weight
    bands = np.arange(MIDI_LOW, MIDI_HIGH + 1)
    return np.maximum(0.0, 1.0 - np.abs(midi[:, None] - bands[None, :]))


def pitch_filterbank(*, sample_rate: int, n_fft: int) -> np.ndarray:
    """The paper's 88-band pitch filterbank folded to pitch classes: [n_fft // 2 + 1, 12]."""
    bands = np.arange(MIDI_LOW, MIDI_HIGH + 1)
    fold = np.zeros((bands.size, 12))
    fold[np.arange(bands.size), bands % 12] = 1.0
    return (pitch_bands(sample_rate=sample_rate, n_fft=n_fft) @ fold).astype(np.float32)


def librosa_filterbank(*, sample_rate: int, n_fft: int) -> np.ndarray:
    """`librosa.filters.chroma` (tuning 0, C first), transposed: [n_fft // 2 + 1, 12]."""
    import librosa  # imported here: it loads numba, which only this method needs

    bank = librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, tuning=0.0, base_c=True)
    return np.ascontiguousarray(bank.T, dtype=np.float32)


def filterbank(method: str, *, sample_rate: int, n_fft: int) -> np.ndarray:
    """The [n_fft // 2 + 1, 12] filterbank of a chroma method named in `CHROMA_METHODS`."""
    if method == "pitch_filterbank":
        return pitch_filterbank(sample_rate=sample_rate, n_fft=n_fft)
    if method == "librosa":
        return librosa_filterbank(sample_rate=sample_rate, n_fft=n_fft)
    raise ParameterError(f"unknown chroma method {method!r}; choose one of {CHROMA_METHODS}")


def chroma(mag, *, bank):
    """Chroma energy of magnitude frames.

    Args:
      mag: [..., n_bins] STFT magnitudes (normalised or not: the argmax is the same).
      bank: [n_bins, 12] a filterbank from `filterbank`.

    Returns:
      [..., 12] non-negative chroma energy.
    """
    return jnp.square(mag) @ bank


def one_hot(chroma_energy):
    """One-hot of the largest class: [..., 12] float32 with exactly one 1 (ties: lowest class)."""
    return jnp.eye(12, dtype=jnp.float32)[jnp.argmax(chroma_energy, axis=-1)]


def is_tie(chroma_energy):
    """[...] bool: the largest chroma value is shared by two or more classes."""
    top = jnp.max(chroma_energy, axis=-1, keepdims=True)
    return jnp.sum(chroma_energy == top, axis=-1) > 1
