"""Resynthesis, the original MANNe effect: a recording through a trained autoencoder.

Each frame of the recording is encoded (with its own chroma, or for a note model the note
`dsp.note_estimate` hears in it, moved by octaves into the model's trained range), its
latents optionally scaled, decoded, and resynthesised with the recording's own phase and
per-frame loudness. For a note model, a frame with no clear pitch (`is_pitched`: silence,
noise) has no note to condition on and is resynthesised as silence.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.dsp import chroma, spectral
from timbre_jax.dsp.note_estimate import estimate_notes, is_pitched, note_templates
from timbre_jax.model.conditioning import condition_of_pitches, fold_into_range
from timbre_jax.model.run import Run


def resynthesize(run: Run, signal: np.ndarray, *, scale=None) -> np.ndarray:
    """[n] float32 audio from a mono signal [n] at the run's sample rate.

    Args:
      run: the model.
      signal: mono audio at `run.spectral["sample_rate"]`.
      scale: [latent_dim] factors for the latents (None: unscaled).
    """
    spec = run.spectral
    window = spectral.hann_window(spec["n_fft"])
    spectrum = np.asarray(spectral.stft(signal, window=window, hop_length=spec["hop_length"]))
    mag = np.abs(spectrum)
    peak = mag.max(axis=1, keepdims=True)
    frames = mag / np.where(peak > 0, peak, 1.0)
    size = {"sample_rate": spec["sample_rate"], "n_fft": spec["n_fft"]}
    sounding = np.ones((len(frames), 1), np.float32)
    if run.conditioning == "note":
        templates = note_templates(**size)
        heard = estimate_notes(frames, templates=templates)
        sounding[:, 0] = np.asarray(is_pitched(frames, heard, templates=templates))
        notes = np.asarray(heard)
        if run.note_range is not None:  # older checkpoints do not record it
            notes = fold_into_range(notes, *run.note_range)
        one_hot = np.asarray(condition_of_pitches(notes, "note"))
    else:
        bank = chroma.filterbank(spec["chroma_method"], **size)
        one_hot = np.asarray(chroma.one_hot(chroma.chroma(frames, bank=bank)))
    diff = np.asarray(spectral.frame_diff(frames))

    @jax.jit
    def apply(frames, one_hot, diff, factors):
        z = run.apply(frames, one_hot, diff, method="encode") * factors
        return run.apply(z, one_hot, method="decode")

    factors = jnp.ones(run.latent_dim) if scale is None else jnp.asarray(scale)
    decoded = np.asarray(apply(frames, one_hot, diff, factors)) * peak * sounding
    out = spectral.istft(decoded * np.exp(1j * np.angle(spectrum)), window=window,
                         hop_length=spec["hop_length"], length=len(signal))  # fmt: skip
    return np.asarray(out)
