"""A corpus split as device arrays, and the epoch's shuffled, padded batches of indices.

The whole split lives on the devices for the run (replicated); a training step gathers its
batch by index, so no frames cross from host to device after start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.corpus.store import load_split, previous_frame_index
from timbre_jax.errors import ParameterError
from timbre_jax.model.conditioning import split_condition
from timbre_jax.training import distributed


class DeviceSplit(NamedTuple):
    frames: jax.Array  # [N, n_bins] float32
    chroma: jax.Array  # [N, 12] float32 one-hot, or [N, 23] (model/conditioning.py)
    previous: jax.Array  # [N] int32 index of the frame just before in the clip (self if none)


def load_device_split(corpus_dir: str | Path, split: str, mesh, *,
                      conditioning: str = "chroma") -> DeviceSplit:  # fmt: skip
    """Loads a split into memory with its conditioning vectors (leaving out the frames that
    have none) and replicates it over the mesh."""
    arrays = load_split(corpus_dir, split, mmap=False)
    condition, keep = split_condition(arrays, conditioning)
    if not keep.any():
        raise ParameterError(
            f"{conditioning} conditioning: no frame of the {split} split of {str(corpus_dir)!r} "
            "has a note (pitch.npy); label it (corpus build --pitch) or use chroma conditioning"
        )
    previous = previous_frame_index(arrays.clip_ids[keep], arrays.positions[keep])
    host = DeviceSplit(arrays.frames[keep], condition[keep], previous)
    sharding = distributed.replicated(mesh)
    return DeviceSplit(*(distributed.global_array(np.asarray(a), sharding) for a in host))


def gather(data: DeviceSplit, index):
    """Frames, chroma and first-order difference [len(index), ...] of the indexed frames."""
    frames = data.frames[index]
    return frames, data.chroma[index], frames - data.frames[data.previous[index]]


def epoch_batches(n_items: int, batch_size: int, *, seed: int, epoch: int, shuffle: bool = True):
    """Indices and weights [n_steps, batch_size] covering every item once.

    Order is `numpy.random.default_rng([seed, epoch]).permutation` (or sequential without
    `shuffle`); the last batch is padded with index 0 at weight 0.
    """
    order = (
        np.random.default_rng([seed, epoch]).permutation(n_items) if shuffle else np.arange(n_items)
    )
    n_steps = -(-n_items // batch_size)
    padding = n_steps * batch_size - n_items
    index = np.concatenate([order, np.zeros(padding, np.int64)]).astype(np.int32)
    weight = np.concatenate([np.ones(n_items), np.zeros(padding)]).astype(np.float32)
    return index.reshape(n_steps, batch_size), weight.reshape(n_steps, batch_size)


def weighted_mean(values, weight):
    """sum(weight * values) / sum(weight) over the batch axis 0."""
    w = weight.reshape(weight.shape + (1,) * (values.ndim - 1))
    return jnp.sum(w * values, axis=0) / jnp.maximum(jnp.sum(weight), 1.0)
