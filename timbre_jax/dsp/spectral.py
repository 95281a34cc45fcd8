"""STFT, inverse STFT and frame-level transforms: pure `jax.numpy` functions.

Defaults are the paper's: a 4096-point FFT with a periodic Hann window, hop 1024 (75%
overlap), 2049 magnitude bins at 44.1 kHz. Framing matches `librosa.stft` with its defaults
(`center=True`, zero padding): the signal is padded by `n_fft // 2` on both sides and frame
`t` is centred on sample `t * hop_length`. Arrays are time-major: `[n_frames, n_bins]`.

Static tables (the window) are built once on the host with `hann_window` and passed in;
whether to `jit` is the caller's choice (`hop_length` must then be static).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from timbre_jax.errors import ParameterError

SAMPLE_RATE = 44100
N_FFT = 4096
HOP_LENGTH = 1024
N_BINS = N_FFT // 2 + 1


def hann_window(n_fft: int = N_FFT) -> np.ndarray:
    """Periodic Hann window (as `scipy.signal.get_window('hann', n_fft)`): [n_fft] float32."""
    if n_fft < 2 or n_fft % 2:
        raise ParameterError(f"n_fft must be an even integer >= 2, got {n_fft!r}")
    n = np.arange(n_fft, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


def num_frames(n_samples: int, *, hop_length: int = HOP_LENGTH) -> int:
    """Number of centred frames `stft` gives for `n_samples` samples."""
    return 1 + n_samples // hop_length


def _check_hop(n_fft: int, hop_length: int) -> None:
    if not 0 < hop_length <= n_fft:
        raise ParameterError(f"hop_length must be in [1, n_fft={n_fft}], got {hop_length!r}")


def frame_signal(signal, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH):
    """Cuts a signal into centred, zero-padded frames.

    Args:
      signal: [n_samples] real.
      n_fft: frame length in samples.
      hop_length: frame step in samples.

    Returns:
      frames: [n_frames, n_fft], frame t centred on sample t * hop_length.
    """
    _check_hop(n_fft, hop_length)
    signal = jnp.asarray(signal)
    if signal.ndim != 1:
        raise ParameterError(f"signal must be 1-D [n_samples], got shape {signal.shape}")
    padded = jnp.pad(signal, (n_fft // 2, n_fft // 2))
    starts = np.arange(num_frames(signal.shape[0], hop_length=hop_length)) * hop_length
    return padded[starts[:, None] + np.arange(n_fft)[None, :]]


def stft(signal, *, window, hop_length: int = HOP_LENGTH):
    """Short-time Fourier transform.

    Args:
      signal: [n_samples] float.
      window: [n_fft] analysis window, e.g. `hann_window()`.
      hop_length: frame step in samples.

    Returns:
      spectrum: [n_frames, n_fft // 2 + 1] complex64.
    """
    window = jnp.asarray(window)
    frames = frame_signal(signal, n_fft=window.shape[0], hop_length=hop_length)
    return jnp.fft.rfft(frames * window, axis=-1)


def overlap_add(frames, *, hop_length: int):
    """Sums frames [n_frames, frame_length] placed every `hop_length` samples.

    Returns:
      signal: [frame_length + (n_frames - 1) * hop_length].
    """
    n_frames, frame_length = frames.shape
    index = (np.arange(n_frames) * hop_length)[:, None] + np.arange(frame_length)[None, :]
    out = jnp.zeros(frame_length + (n_frames - 1) * hop_length, frames.dtype)
    return out.at[index].add(frames)


def istft(spectrum, *, window, hop_length: int = HOP_LENGTH, length: int | None = None):
    """Inverse of `stft` by weighted overlap-add (least-squares, as `librosa.istft`).

    Args:
      spectrum: [n_frames, n_fft // 2 + 1] complex.
      window: [n_fft] the analysis window used by `stft`.
      hop_length: frame step in samples.
      length: samples to return; default `(n_frames - 1) * hop_length`.

    Returns:
      signal: [length] float32.
    """
    window = jnp.asarray(window)
    n_fft = window.shape[0]
    _check_hop(n_fft, hop_length)
    if spectrum.shape[-1] != n_fft // 2 + 1:
        raise ParameterError(
            f"spectrum has {spectrum.shape[-1]} bins; a window of {n_fft} needs {n_fft // 2 + 1}"
        )
    frames = jnp.fft.irfft(spectrum, n=n_fft, axis=-1) * window
    signal = overlap_add(frames, hop_length=hop_length)
    norm = overlap_add(jnp.broadcast_to(window**2, frames.shape), hop_length=hop_length)
    tiny = jnp.finfo(signal.dtype).tiny
    signal = jnp.where(norm > tiny, signal / jnp.maximum(norm, tiny), signal)
    if length is None:
        length = (spectrum.shape[0] - 1) * hop_length
    signal = signal[n_fft // 2 :][:length]
    return jnp.pad(signal, (0, length - signal.shape[0]))


def normalize_frames(mag):
    """Scales each frame to [0, 1] by its own maximum (the paper's per-frame normalisation).

    Args:
      mag: [..., n_bins] non-negative magnitudes.

    Returns:
      [..., n_bins], each frame's maximum 1; an all-zero frame stays zero.
    """
    peak = jnp.max(mag, axis=-1, keepdims=True)
    return mag / jnp.where(peak > 0, peak, 1.0)


def frame_diff(frames):
    """First-order difference along time (Table I's "1st Order Diff") of one signal's frames.

    Args:
      frames: [n_frames, n_bins], consecutive frames of one signal.

    Returns:
      [n_frames, n_bins]: frames[t] - frames[t - 1], zeros on the first frame. (A corpus's
      frames, with clips and dropped silence, use `corpus.store.previous_frame_index`.)
    """
    frames = jnp.asarray(frames)
    return frames - jnp.concatenate([frames[:1], frames[:-1]], axis=0)
