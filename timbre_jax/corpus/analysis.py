"""The corpus hot path: audio -> normalised magnitude frames, loudness and one-hot chroma.

Frames are cut on the host (a strided view, no copy) and analysed by one jit-compiled
function over fixed-size blocks, so that clips of any length reuse a single compilation.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from timbre_jax.dsp import chroma, spectral

BLOCK_FRAMES = 256  # frames per jitted call; the last block of a clip is zero-padded
SILENCE_DB = -60.0  # frames whose peak is this far below a full-scale sine's are dropped


class FrameAnalysis(NamedTuple):
    frames: np.ndarray  # [n_frames, n_bins] float32, each frame's maximum 1 (0 if silent)
    peak_db: np.ndarray  # [n_frames] float32 peak magnitude in dB re a full-scale sine
    one_hot: np.ndarray  # [n_frames, 12] float32 one-hot chroma
    tie: np.ndarray  # [n_frames] bool: the largest chroma value was shared


class FrameAnalyser:
    """STFT + per-frame normalisation + chroma with fixed spectral settings.

    Args:
      chroma_method: a name in `chroma.CHROMA_METHODS`.
      sample_rate: Hz.
      n_fft: FFT size (window length) in samples.
      hop_length: frame step in samples.
    """

    def __init__(
        self,
        *,
        chroma_method: str = "pitch_filterbank",
        sample_rate: int = spectral.SAMPLE_RATE,
        n_fft: int = spectral.N_FFT,
        hop_length: int = spectral.HOP_LENGTH,
    ):
        self.n_fft, self.hop_length = n_fft, hop_length
        window = spectral.hann_window(n_fft)
        bank = chroma.filterbank(chroma_method, sample_rate=sample_rate, n_fft=n_fft)
        full_scale = float(window.sum()) / 2  # STFT peak of a unit-amplitude sine

        @jax.jit
        def analyse_block(frames):
            mag = jnp.abs(jnp.fft.rfft(frames * window, axis=-1))
            peak = jnp.max(mag, axis=-1)
            energy = chroma.chroma(mag, bank=bank)
            peak_db = 20.0 * jnp.log10(jnp.maximum(peak, 1e-12) / full_scale)
            return (
                spectral.normalize_frames(mag),
                peak_db,
                chroma.one_hot(energy),
                chroma.is_tie(energy),
            )

        self._analyse_block = analyse_block

    def __call__(self, signal: np.ndarray) -> FrameAnalysis:
        """Analyses a mono signal [n_samples] into `spectral.num_frames` centred frames."""
        half = self.n_fft // 2
        padded = np.pad(np.asarray(signal, np.float32), (half, half))
        n_frames = spectral.num_frames(len(signal), hop_length=self.hop_length)
        frames = sliding_window_view(padded, self.n_fft)[:: self.hop_length][:n_frames]
        outputs = []
        for start in range(0, n_frames, BLOCK_FRAMES):
            block = frames[start : start + BLOCK_FRAMES]
            if len(block) < BLOCK_FRAMES:
                block = np.pad(block, ((0, BLOCK_FRAMES - len(block)), (0, 0)))
            outputs.append(self._analyse_block(block))
        parts = [np.concatenate([np.asarray(o[i]) for o in outputs])[:n_frames] for i in range(4)]
        return FrameAnalysis(*parts)
