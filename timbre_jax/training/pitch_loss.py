"""A training term beyond the paper: every point of the pad plays the note it is given.

The paper trains on reconstruction alone, so the decoder is free wherever no training frame
lands. This term decodes `pitch_batch` latent points drawn uniformly over the whole playable
span (0, 1)^d of a sigmoid bottleneck, each with the conditioning vector of a random training
frame (so notes come as often as the corpus sounds them), and scores each decoded frame
against the 88 harmonic templates of `dsp/note_estimate.py` (one matrix product):

    loss = -log sum_{n acceptable} softmax(scores / temperature)_n,
    scores = (frame / max(frame)) @ templates

The acceptable notes are the conditioned note (note conditioning) or every note of the
conditioned pitch class (chroma conditioning, which carries no octave). The templates reward
energy on the note's harmonics and penalise energy between them, so the term asks for a
harmonic spectrum with the pressed fundamental, everywhere on the pad.

With `octaves_only` (note conditioning) only the octaves of the conditioned pitch class
compete in the softmax: the term then asks only that the pressed octave beat the others (the
fundamental and odd harmonics present), not that the frame beat every other note's template,
which leaves the rest of the spectrum, and so the timbre, freer.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.dsp.chroma import MIDI_HIGH, MIDI_LOW
from timbre_jax.dsp.note_estimate import note_templates

TEMPLATE_NOTES = np.arange(MIDI_LOW, MIDI_HIGH + 1)  # the 88 notes the templates score


class PitchTerm(NamedTuple):
    weight: float  # of the cross-entropy in the loss
    batch: int  # latent points decoded per step
    temperature: float  # of the softmax over the template scores of max-normalised frames
    templates: jax.Array  # [n_bins, 88] from `note_templates`
    octaves_only: bool  # only the conditioned class's octaves compete (see above)


def make_pitch_term(train_config, spectral: dict) -> PitchTerm | None:
    """The configured term, or None when `train.pitch_weight` is 0 (the paper's objective)."""
    if train_config.pitch_weight == 0:
        return None
    templates = note_templates(sample_rate=spectral["sample_rate"], n_fft=spectral["n_fft"])
    return PitchTerm(float(train_config.pitch_weight), int(train_config.pitch_batch),
                     float(train_config.pitch_temperature), jnp.asarray(templates),
                     bool(train_config.pitch_octaves_only))  # fmt: skip


def class_notes(condition) -> jax.Array:
    """[batch, 88] bool: the template notes of the pitch class of conditioning vectors
    [batch, 12 or 23]."""
    classes = jnp.argmax(condition[:, :12], axis=-1)
    return (TEMPLATE_NOTES[None, :] % 12) == classes[:, None]


def acceptable_notes(condition) -> jax.Array:
    """[batch, 88] 1.0 where a template note matches the conditioning vectors [batch, 12 or 23]:
    the note itself (class + octave), or every note of the class (chroma only)."""
    match = class_notes(condition)
    if condition.shape[-1] > 12:
        octaves = jnp.argmax(condition[:, 12:], axis=-1)
        match &= (TEMPLATE_NOTES[None, :] // 12) == octaves[:, None]
    return match.astype(jnp.float32)


def template_cross_entropy(frames, acceptable, *, templates, temperature: float, rivals=None):
    """Mean over the batch of -log P(an acceptable note) under softmax(scores / temperature).

    Args:
      frames: [batch, n_bins] decoded magnitudes (>= 0).
      acceptable: [batch, 88] from `acceptable_notes`.
      rivals: [batch, 88] bool, the notes in the softmax (None: all 88; `class_notes` for
        `octaves_only`); they must include the acceptable ones.
    """
    peak = jnp.maximum(jnp.max(frames, axis=-1, keepdims=True), 1e-6)
    scores = (frames / peak) @ templates / temperature
    if rivals is not None:
        scores = jnp.where(rivals, scores, -jnp.inf)
    log_p = jax.nn.log_softmax(scores, axis=-1)
    masked = jnp.where(acceptable > 0, log_p, -jnp.inf)
    return -jnp.mean(jax.nn.logsumexp(masked, axis=-1))


def sample_pad(key, conditions, *, batch: int, latent_dim: int):
    """Latent points [batch, latent_dim] uniform over (0, 1)^d, and the conditioning vectors of
    `batch` random rows of `conditions` [N, size]."""
    z_key, row_key = jax.random.split(key)
    z = jax.random.uniform(z_key, (batch, latent_dim))
    rows = jax.random.randint(row_key, (batch,), 0, conditions.shape[0])
    return z, conditions[rows]
