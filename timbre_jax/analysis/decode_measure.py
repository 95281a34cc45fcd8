"""What a decoder plays at latent points: the chroma class and the estimated note of the
decoded frames, as the mesh sweep (`mesh_sweep.py`) and the pad's note map (`note_map.py`)
measure them. No plotting here, so the synth can use it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.dsp import chroma
from timbre_jax.dsp.chroma import MIDI_HIGH, MIDI_LOW
from timbre_jax.dsp.note_estimate import is_pitched
from timbre_jax.model.run import Run

UNPITCHED = MIDI_HIGH + 1  # the decoded "note" of a frame with no clear pitch


def unit_mesh_points(flat_index: np.ndarray, points: int, latent_dim: int) -> np.ndarray:
    """Cell centres in [0, 1]^d of the mesh points with these flat (C-order) indices."""
    index = np.stack(np.unravel_index(flat_index, (points,) * latent_dim), axis=1)
    return (index + 0.5) / points


def make_classifier(run: Run, bank: np.ndarray, templates: np.ndarray):
    """Jitted (z [C, d], condition [size]) -> (chroma class [C], MIDI note [C]) of the frames
    decoded at the latent points with that conditioning vector (`UNPITCHED` for a frame with
    no clear pitch)."""

    def measure(z, condition):
        frames = run.apply(z, jnp.broadcast_to(condition, (z.shape[0], condition.size)),
                           method="decode")  # fmt: skip
        classes = jnp.argmax(chroma.chroma(frames, bank=bank), axis=-1)
        notes = MIDI_LOW + jnp.argmax(frames @ templates, axis=-1)
        notes = jnp.where(is_pitched(frames, notes, templates=templates), notes, UNPITCHED)
        return classes.astype(jnp.int8), notes.astype(jnp.int8)

    return jax.jit(measure)
