"""Where on the pad a 2-D note model plays the note it is given: its decoded-note map.

For each note the model is conditioned on, the map holds the template estimator's note of the
frame decoded at each cell of a grid over the pad (`UNPITCHED` where it has no clear pitch),
and `verdicts` says what a player hears there: the note, the note an octave off, another
note, or no clear pitch. Sources, first found first:
- note_map.npz of an exported model (`write_shipped_map`: the run's mesh sweep, trained
  notes only, subsampled to at most `SHIPPED_POINTS` cells per side);
- mesh_notes.npz of a run whose mesh was swept (`timbre_jax.mesh`);
- `decode_note` for one note at a time (`NoteShading` does it in the background for the
  notes a player holds).
Grids are indexed [z0 cell, z1 cell] over `extent` (low0, high0, low1, high1).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from timbre_jax.analysis.decode_measure import UNPITCHED, make_classifier, unit_mesh_points
from timbre_jax.analysis.embedding import latent_span
from timbre_jax.dsp import chroma
from timbre_jax.dsp.note_estimate import note_templates
from timbre_jax.model.conditioning import condition_of_pitches
from timbre_jax.model.run import Run

RIGHT, OCTAVE, OTHER, NO_PITCH = range(4)  # verdicts, from best to worst
VERDICTS = ("the note", "an octave off", "another note", "no clear pitch")
NOTE_MAP = "note_map.npz"  # an exported model's map
MESH_NOTES = "mesh_notes.npz"  # a run's mesh sweep (analysis/mesh_sweep.py)
SHIPPED_POINTS = 60  # cells per side of an exported map
DECODED_POINTS = 40  # cells per side of a map decoded for one held note


class NoteMap(NamedTuple):
    notes: dict[int, np.ndarray]  # conditioned MIDI note -> [P, P] int8 decoded notes
    extent: tuple[float, float, float, float]  # (low0, high0, low1, high1) of the cells


def verdicts(decoded: np.ndarray, pressed: int) -> np.ndarray:
    """[P, P] uint8 `RIGHT`, `OCTAVE`, `OTHER` or `NO_PITCH` of decoded notes against a key."""
    decoded = decoded.astype(np.int64)
    out = np.full(decoded.shape, OTHER, np.uint8)
    out[(decoded - pressed) % 12 == 0] = OCTAVE
    out[decoded == pressed] = RIGHT
    out[decoded == UNPITCHED] = NO_PITCH
    return out


def shade(note_map: NoteMap, pitches) -> np.ndarray | None:
    """[P, P] the worst verdict over the held notes the map has (None: it has none of them)."""
    found = [verdicts(note_map.notes[p], p) for p in pitches if p in note_map.notes]
    return np.max(found, axis=0) if found else None


def subsample(grid: np.ndarray, points: int) -> np.ndarray:
    """[..., points, points] the cells of a finer [..., M, M] grid nearest the coarser grid's
    cell centres (the extent stays the same)."""
    size = grid.shape[-1]
    if size <= points:
        return grid
    index = ((np.arange(points) + 0.5) * size / points).astype(np.int64)
    return grid[..., index[:, None], index[None, :]]


def load_note_map(folder: str | Path) -> NoteMap | None:
    """The note map stored in a run or exported model folder (None if it has none, or its
    mesh is a chroma model's)."""
    for name in (NOTE_MAP, MESH_NOTES):
        path = Path(folder) / name
        if path.is_file():
            data = np.load(path)
            if str(data["conditioning"]) != "note":
                return None
            notes = dict(zip(data["conditions"].tolist(), data["notes"], strict=True))
            return NoteMap(notes, tuple(float(v) for v in data["extent"]))
    return None


def write_shipped_map(run: Run, out: Path, points: int = SHIPPED_POINTS) -> bool:
    """Writes the run's mesh (trained notes, at most `points` cells a side) to
    out/note_map.npz; False if the run has no note model's mesh to ship."""
    note_map = load_note_map(run.folder)
    if note_map is None or run.trained_notes is None:
        return False
    conditions = [n for n in note_map.notes if n in run.trained_notes]
    grids = subsample(np.stack([note_map.notes[n] for n in conditions]), points)
    np.savez_compressed(out / NOTE_MAP, conditions=np.asarray(conditions), notes=grids,
                        extent=np.asarray(note_map.extent), conditioning="note")  # fmt: skip
    return True


def make_note_decoder(run: Run, points: int = DECODED_POINTS):
    """(decode(pitch) -> [points, points] int8 decoded notes, extent) over the run's span."""
    spectral = {"sample_rate": run.spectral["sample_rate"], "n_fft": run.spectral["n_fft"]}
    classify = make_classifier(run, chroma.filterbank(run.spectral["chroma_method"], **spectral),
                               note_templates(**spectral))  # fmt: skip
    low, high = latent_span(run)
    z = low + unit_mesh_points(np.arange(points * points), points, 2) * (high - low)
    z = jnp.asarray(z, jnp.float32)

    def decode(pitch: int) -> np.ndarray:
        condition = condition_of_pitches(np.asarray([pitch]), run.conditioning)[0]
        return np.asarray(classify(z, condition)[1]).reshape(points, points)

    return decode, (float(low[0]), float(high[0]), float(low[1]), float(high[1]))


class NoteShading:
    """The verdicts of held notes over the pad of a 2-D note model, from its stored map or,
    for notes it lacks, decoded in one background thread (`shade` answers None until then)."""

    def __init__(self, run: Run):
        self.run = run
        self.stored = load_note_map(run.folder)
        self._decode = None
        self._computed: dict[int, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="note-map")

    def shade(self, pitches) -> tuple[np.ndarray, tuple] | None:
        """([P, P] worst verdict, extent) for the held (conditioned) notes, or None while a
        note's map is being decoded or no note is held."""
        pitches = sorted(set(int(p) for p in pitches))
        if not pitches:
            return None
        if self.stored is not None and all(p in self.stored.notes for p in pitches):
            return shade(self.stored, pitches), self.stored.extent
        futures = [self._computed.setdefault(p, self._pool.submit(self._decode_note, p))
                   for p in pitches]  # fmt: skip
        if not all(f.done() for f in futures):
            return None
        grids = {p: f.result()[0] for p, f in zip(pitches, futures, strict=True)}
        return shade(NoteMap(grids, futures[0].result()[1]), pitches), futures[0].result()[1]

    def _decode_note(self, pitch: int):
        if self._decode is None:
            self._decode = make_note_decoder(self.run)
        decode, extent = self._decode
        return decode(pitch), extent

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
