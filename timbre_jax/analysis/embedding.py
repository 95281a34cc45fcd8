"""Latent points of a run's corpus frames, the playable span, and how much of it they fill."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from timbre_jax.corpus.store import Split, load_split, previous_frame_index
from timbre_jax.errors import ParameterError
from timbre_jax.model.conditioning import split_condition
from timbre_jax.model.run import Run

BATCH = 4096  # frames encoded per jitted call
MARGIN = 0.05  # LeakyReLU span: embedding range widened by this fraction on each side
COVERAGE_CELLS = 20  # cells per side of the grid that `span_coverage` counts
STORED_EMBEDDING = "embedding_train.npz"  # what an exported model keeps of its training split


def encode_split(run: Run, split: str = "train") -> dict:
    """Latents of every frame of a split of the run's corpus.

    Returns:
      {"latents": [N, latent_dim] float32, "note": [N] int chroma class, "pitch": [N] int16,
       "clip_ids": [N] int32}
    """
    run.corpus_metadata(what=f"embedding {run.folder}")
    data = load_split(run.corpus, split)
    condition, keep = split_condition(data, run.conditioning)
    if not keep.all():  # a note model encodes the frames that have a note
        data = Split(*(np.asarray(a)[keep] for a in data))
        condition = condition[keep]
    previous = previous_frame_index(np.asarray(data.clip_ids), np.asarray(data.positions))
    latents = []
    for start in range(0, len(data.frames), BATCH):
        stop = min(start + BATCH, len(data.frames))
        frames = np.asarray(data.frames[start:stop])
        diff = frames - np.asarray(data.frames[previous[start:stop]])
        chroma = condition[start:stop]
        pad = BATCH - (stop - start)  # one compiled shape for every batch
        args = (np.pad(a, ((0, pad), (0, 0))) for a in (frames, chroma, diff))
        latents.append(np.asarray(run.apply(*args, method="encode"))[: stop - start])
    return {
        "latents": np.concatenate(latents).astype(np.float32),
        "note": np.argmax(data.chroma, axis=1),
        "pitch": np.asarray(data.pitch),
        "clip_ids": np.asarray(data.clip_ids),
    }


def latent_span(run: Run, latents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(low [d], high [d]) of the playable latent region: (0, 1) per neuron for a sigmoid
    bottleneck, else the training latents' range widened by `MARGIN` (encoded if not given)."""
    d = run.latent_dim
    if run.bottleneck == "sigmoid":
        return np.zeros(d), np.ones(d)
    if latents is None:
        latents = encode_split(run, "train")["latents"]
    low, high = latents.min(axis=0), latents.max(axis=0)
    pad = MARGIN * np.maximum(high - low, 1e-6)
    return low - pad, high + pad


def span_coverage(latents, low, high, cells: int = COVERAGE_CELLS) -> float:
    """Fraction of the cells^d grid over the span [low, high] that holds a latent [N, d]: how
    much of the playable region the training data reaches (1 = uniform enough to fill it)."""
    unit = np.clip((np.asarray(latents) - low) / (high - low), 0.0, 1.0 - 1e-9)
    return len(np.unique((unit * cells).astype(np.int64), axis=0)) / cells ** unit.shape[1]


def run_coverage(run: Run, train_latents: np.ndarray) -> float:
    """`span_coverage` of a run's training latents over its playable span."""
    low, high = latent_span(run, train_latents)
    return span_coverage(train_latents, low, high)


def training_embedding(run: Run) -> tuple[np.ndarray, np.ndarray] | None:
    """(latents [N, d], notes [N]) of the training split: encoded from the corpus if it is on
    this machine, else read from the run's `STORED_EMBEDDING`; None if neither is there."""
    try:
        embedding = encode_split(run, "train")
    except (ParameterError, OSError):  # the corpus is not on this machine
        path = Path(run.folder) / STORED_EMBEDDING
        if not path.is_file():
            return None
        embedding = np.load(path)
    return np.asarray(embedding["latents"], np.float32), np.asarray(embedding["note"])
