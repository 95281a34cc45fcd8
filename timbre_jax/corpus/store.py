"""The on-disk format of a corpus folder and its loader (memory-mapped, never unpickled).

A corpus is `corpus.json` (spectral settings, chroma method, sources, per-split counts) and
`train/`, `val/`, `test/`, each holding one `.npy` file per field of `Split`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from timbre_jax.errors import ParameterError

SPLITS = ("train", "val", "test")
CORPUS_JSON = "corpus.json"
CORPUS_FORMAT = "timbre_jax.corpus/2"  # 2: positions.npy, each frame's STFT index in its clip


class Split(NamedTuple):
    frames: np.ndarray  # [N, n_bins] float32, each frame's maximum 1
    chroma: np.ndarray  # [N, 12] float32 one-hot
    clip_ids: np.ndarray  # [N] int32
    positions: np.ndarray  # [N] int32 STFT frame index within its clip (silent frames skipped)
    pitch: np.ndarray  # [N] int16 MIDI pitch, -1 unknown


ARRAYS = Split._fields  # the .npy files of a split


def load_metadata(corpus_dir: str | Path) -> dict:
    """The corpus.json of a corpus folder.

    Raises:
      ParameterError: not a corpus folder, or one of an older format (with the command that
        rebuilds it).
    """
    path = Path(corpus_dir) / CORPUS_JSON
    if not path.is_file():
        raise ParameterError(f"{str(corpus_dir)!r} is not a corpus folder: no {CORPUS_JSON}")
    meta = json.loads(path.read_text())
    if meta.get("format") != CORPUS_FORMAT:
        raise ParameterError(
            f"{str(corpus_dir)!r} has format {meta.get('format')!r}, this version reads "
            f"{CORPUS_FORMAT!r}: rebuild it with `python -m timbre_jax.corpus build --audio "
            f"{meta.get('sources', {}).get('audio_dir', 'AUDIO')} --out {corpus_dir} --overwrite`"
        )
    return meta


def load_split(corpus_dir: str | Path, split: str, *, mmap: bool = True) -> Split:
    """The arrays of one split, memory-mapped by default (never unpickled)."""
    if split not in SPLITS:
        raise ParameterError(f"unknown split {split!r}; choose one of {SPLITS}")
    load_metadata(corpus_dir)
    folder = Path(corpus_dir) / split
    mode = "r" if mmap else None
    return Split(
        *(np.load(folder / f"{name}.npy", mmap_mode=mode, allow_pickle=False) for name in ARRAYS)
    )


def previous_frame_index(clip_ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """[N] int32: t - 1 where frame t - 1 is the STFT frame just before t in the same clip.

    Elsewhere (a clip's first frame, or the first frame after dropped silence) it is t itself,
    so the first-order difference there is zero rather than a jump across the gap.
    """
    index = np.arange(len(clip_ids), dtype=np.int32)
    same_clip = clip_ids[1:] == clip_ids[:-1]
    adjacent = np.concatenate([[False], same_clip & (positions[1:] == positions[:-1] + 1)])
    return np.where(adjacent, index - 1, index).astype(np.int32)
