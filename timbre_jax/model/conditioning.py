"""What a model is conditioned on: the paper's one-hot chroma, or the note (chroma + octave).

- `chroma` (the paper's; the default): [12] the one-hot pitch class. A corpus frame's is the
  largest class of its spectrum (the corpus's `chroma.npy`); a played note's is pitch % 12.
- `note`: [12 + 11] the one-hot pitch class and the one-hot octave (MIDI pitch // 12, 0-10)
  of the frame's labelled note (the corpus's `pitch.npy`). Frames without a note (-1) are
  left out of training and evaluation.

The vector is used wherever the chroma was: appended to the encoder's input (`augment=
"chroma"`), to the decoder's (`chroma_skip`), in mesh sweeps and in the synth.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.corpus.store import Split
from timbre_jax.errors import ParameterError

CONDITIONINGS = ("chroma", "note")
N_OCTAVES = 11  # MIDI 0-127 in octaves of 12: 0 (C-1 ... B-1) to 10 (C9 ... G9)


def check_conditioning(conditioning: str) -> str:
    if conditioning not in CONDITIONINGS:
        raise ParameterError(
            f"model.conditioning must be one of {CONDITIONINGS}, got {conditioning!r}"
        )
    return conditioning


def condition_size(conditioning: str) -> int:
    """Length of the conditioning vector: 12 (chroma) or 23 (note)."""
    return 12 if check_conditioning(conditioning) == "chroma" else 12 + N_OCTAVES


def condition_of_pitches(pitches, conditioning: str):
    """Conditioning vectors [..., size] float32 for MIDI pitches [...] (jnp, jit-able)."""
    pitches = jnp.asarray(pitches)
    classes = jax.nn.one_hot(pitches % 12, 12, dtype=jnp.float32)
    if check_conditioning(conditioning) == "chroma":
        return classes
    octaves = jax.nn.one_hot(pitches // 12, N_OCTAVES, dtype=jnp.float32)
    return jnp.concatenate([classes, octaves], axis=-1)


def fold_into_range(pitches: np.ndarray, low: int, high: int) -> np.ndarray:
    """MIDI pitches moved by whole octaves into [low, high] (as near as the range allows);
    a range narrower than an octave keeps the pitches it cannot reach at its nearest end."""
    pitches = np.asarray(pitches)
    below, above = pitches < low, pitches > high
    moved = np.where(below, pitches + 12 * -(-(low - pitches) // 12), pitches)
    moved = np.where(above, moved - 12 * -(-(pitches - high) // 12), moved)
    return np.clip(moved, low, high)


def split_condition(split: Split, conditioning: str) -> tuple[np.ndarray, np.ndarray]:
    """A corpus split's conditioning vectors and which frames have one.

    Returns:
      condition [N, size] float32 (for every frame; rows of unlabelled frames are
      meaningless under note conditioning) and keep [N] bool.
    """
    if check_conditioning(conditioning) == "chroma":
        return np.asarray(split.chroma, np.float32), np.ones(len(split.chroma), bool)
    pitch = np.asarray(split.pitch)
    keep = pitch >= 0
    return np.asarray(condition_of_pitches(np.maximum(pitch, 0), conditioning)), keep
