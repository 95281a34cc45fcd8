"""How much the timbre changes across the pad: a pad that plays one sound everywhere could
play every note right and still fail the musician.

For each note, the frames decoded on a `points` x `points` grid over the playable span are
turned into MFCCs (40 mel bands, 20 coefficients, the first, the overall level, left out, so
only the spectral envelope counts); the note's variety is the mean Euclidean distance between
the MFCC vectors of all pairs of grid points, and the model's is the mean over notes.
"""

from __future__ import annotations

import jax.numpy as jnp
import librosa
import numpy as np

from timbre_jax.analysis.embedding import latent_span
from timbre_jax.model.conditioning import condition_of_pitches
from timbre_jax.model.run import Run

N_MELS, N_MFCC = 40, 20


def envelope_features(frames: np.ndarray, *, sample_rate: int, n_fft: int) -> np.ndarray:
    """[k, N_MFCC - 1] MFCCs 1..19 of magnitude frames [k, n_bins] (each max-normalised)."""
    frames = frames / np.maximum(frames.max(axis=1, keepdims=True), 1e-9)
    mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=N_MELS) @ frames.T**2
    return librosa.feature.mfcc(S=librosa.power_to_db(mel, ref=1.0, top_db=80.0),
                                n_mfcc=N_MFCC)[1:].T  # fmt: skip


def mean_pairwise_distance(features: np.ndarray) -> float:
    diff = features[:, None, :] - features[None, :, :]
    distance = np.sqrt(np.sum(diff**2, axis=-1))
    k = len(features)
    return float(distance.sum() / (k * (k - 1)))


def timbre_variety(run: Run, pitches, *, points: int = 10) -> float:
    """Mean over `pitches` (MIDI) of the mean MFCC distance between decodes on the pad grid."""
    low, high = latent_span(run)
    axes = [np.linspace(lo, hi, points) for lo, hi in zip(low, high, strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, run.latent_dim)
    spectral = run.spectral
    varieties = []
    for pitch in pitches:
        condition = condition_of_pitches(np.full(len(grid), pitch), run.conditioning)
        frames = np.asarray(run.apply(jnp.asarray(grid, jnp.float32), condition, method="decode"))
        features = envelope_features(frames, sample_rate=spectral["sample_rate"],
                                     n_fft=spectral["n_fft"])  # fmt: skip
        varieties.append(mean_pairwise_distance(features))
    return float(np.mean(varieties))
