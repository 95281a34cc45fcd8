"""How often the harmonic-template note estimator names the sounding note of corpus frames.

For each corpus and split, over the frames whose pitch is known (`pitch.npy` >= 0): the
exact-note accuracy (class and octave), the pitch-class accuracy, and for comparison the
plain argmax of the 88-band pitch filterbank (the bands the corpus's chroma sums). The exact
accuracy is also given apart for steady frames (every frame of the clip within two hops, the
window's reach, has the same note) and transitions (a frame whose window holds the end of
one note and the start of the next, whose label is the one starting).

Usage: python launch/validate_note_estimator.py data/corpora/violin data/corpora/five_octave
       [--splits test] [--chunk 4096]
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.corpus.store import load_metadata, load_split
from timbre_jax.dsp.chroma import MIDI_LOW, pitch_bands
from timbre_jax.dsp.note_estimate import estimate_notes, note_templates


def steady_frames(data, reach: int = 2) -> np.ndarray:
    """[N] bool: no frame of the same clip within `reach` hops has another known pitch."""
    clips, positions, pitch = (np.asarray(a) for a in (data.clip_ids, data.positions, data.pitch))
    steady = np.ones(len(pitch), bool)
    for shift in range(1, reach + 1):
        for a, b in ((slice(shift, None), slice(None, -shift)),
                     (slice(None, -shift), slice(shift, None))):  # fmt: skip
            near = (clips[a] == clips[b]) & (np.abs(positions[a] - positions[b]) <= reach)
            differs = near & (pitch[b] >= 0) & (pitch[b] != pitch[a])
            steady[a] &= ~differs
    return steady


def accuracies(corpus: str, split: str, chunk: int) -> dict:
    spectral = load_metadata(corpus)
    size = {"sample_rate": spectral["sample_rate"], "n_fft": spectral["n_fft"]}
    templates = jnp.asarray(note_templates(**size))
    bands = jnp.asarray(pitch_bands(**size), jnp.float32)
    estimate = jax.jit(lambda m: estimate_notes(m, templates=templates))
    band_argmax = jax.jit(lambda m: MIDI_LOW + jnp.argmax(jnp.square(m) @ bands, axis=-1))
    data = load_split(corpus, split)
    pitch = np.asarray(data.pitch)
    known = np.flatnonzero(pitch >= 0)
    notes, baseline = [], []
    for start in range(0, len(known), chunk):
        frames = jnp.asarray(data.frames[known[start : start + chunk]])
        notes.append(np.asarray(estimate(frames)))
        baseline.append(np.asarray(band_argmax(frames)))
    truth, steady = pitch[known], steady_frames(data)[known]
    notes, baseline = np.concatenate(notes), np.concatenate(baseline)
    exact = notes == truth
    return {"frames": len(truth), "exact": exact.mean(), "class": np.mean(notes % 12 == truth % 12),
            "steady": steady.sum(), "steady_exact": exact[steady].mean() if steady.any() else 1.0,
            "transition_exact": exact[~steady].mean() if (~steady).any() else 1.0,
            "band_argmax_exact": np.mean(baseline == truth)}  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+")
    parser.add_argument("--splits", nargs="+", default=["test"])
    parser.add_argument("--chunk", type=int, default=4096, help="frames per product")
    args = parser.parse_args(argv)
    print("corpus, split: labelled frames, exact note (steady frames, transitions), pitch "
          "class; the 88-band argmax's exact note")  # fmt: skip
    for corpus in args.corpora:
        for split in args.splits:
            a = accuracies(corpus, split, args.chunk)
            print(f"{corpus}, {split}: {a['frames']} frames, exact {a['exact']:.3f} (steady "
                  f"{a['steady_exact']:.3f} of {a['steady']}, transitions "
                  f"{a['transition_exact']:.3f}), class {a['class']:.3f}; band argmax "
                  f"{a['band_argmax_exact']:.3f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
