"""Which pitches a chroma model's decoder plays over its latent space, against its corpus's.

The paper found that its five-octave corpus "encouraged the autoencoder to produce
high-pitched, often uncomfortable tones". For each run (`--workdirs`, by default Table I's
three five-octave rows) this decodes `--points` uniform random points of the latent span for
each of the 12 chroma classes, estimates each frame's note with the harmonic-template
estimator (`dsp/note_estimate.py`) and prints the share with a clear pitch, the median and the
10th/90th percentiles of those notes, and the shares above the corpus's 90th percentile and
below its 10th (0.10 each if the decoder followed the corpus), beside the same estimator on
the corpus's labelled test frames.

Usage: python launch/decoded_range.py [--workdirs runs/paper/table1_chroma ...]
                                      [--corpus data/corpora/five_octave] [--points 4096]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from timbre_jax.analysis.embedding import latent_span
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.corpus.store import load_split
from timbre_jax.dsp.note_estimate import estimate_notes, is_pitched, note_templates
from timbre_jax.errors import ParameterError
from timbre_jax.model.run import load_run
from timbre_jax.synth.engine import compiled_decoder

TABLE_I = [f"runs/paper/table1_{row}" for row in ("no_append", "diff", "chroma")]


def decoded_notes(run, points: int, templates: np.ndarray, seed: int = 0) -> np.ndarray:
    """[12 * points] estimated MIDI notes of decodes at random points of the span, one batch
    per chroma class; -1 where the frame has no clear pitch."""
    low, high = latent_span(run)
    z = np.random.default_rng(seed).uniform(low, high, (points, len(low))).astype(np.float32)
    decode, notes = compiled_decoder(run), []
    for pitch_class in range(12):
        pitch = np.full(points, 60 + pitch_class, np.int32)
        mag = decode(z, pitch, pitch, np.zeros(points, np.float32))
        estimate = estimate_notes(mag, templates=templates)
        notes.append(np.where(is_pitched(mag, estimate, templates=templates), estimate, -1))
    return np.concatenate(notes)


def line(name: str, notes: np.ndarray, low: float, high: float) -> str:
    pitched = notes[notes >= 0]
    if not len(pitched):
        return f"| {name} | 0.000 | - | - | - | - |"
    p10, median, p90 = np.percentile(pitched, [10, 50, 90])
    return (f"| {name} | {len(pitched) / len(notes):.3f} | {median:.0f} | {p10:.0f} / {p90:.0f} | "
            f"{np.mean(pitched > high):.3f} | {np.mean(pitched < low):.3f} |")  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdirs", nargs="+", default=TABLE_I)
    parser.add_argument("--corpus", default="data/corpora/five_octave")
    parser.add_argument("--points", type=int, default=4096, help="latent points per class")
    args = parser.parse_args(argv)
    if args.points < 1:
        raise ParameterError(f"--points must be positive, got {args.points}")
    test = load_split(args.corpus, "test")
    labels = np.asarray(test.pitch)
    frames = np.asarray(test.frames, np.float32)[labels >= 0]
    labels = labels[labels >= 0]
    if not len(labels):
        raise ParameterError(f"{args.corpus} has no labelled test frames")
    spectral = json.loads((Path(args.corpus) / "corpus.json").read_text())
    templates = note_templates(sample_rate=spectral["sample_rate"], n_fft=spectral["n_fft"])
    low, high = np.percentile(labels, [10, 90])
    print("| frames | clear pitch | median note | 10th / 90th percentile | above the corpus's "
          "90th | below its 10th |\n|---|---|---|---|---|---|")  # fmt: skip
    print(line(f"{args.corpus} test frames (labels)", labels, low, high))
    print(line("... the estimator on them", np.asarray(estimate_notes(frames, templates=templates)),
               low, high))  # fmt: skip
    for workdir in args.workdirs:
        print(line(workdir, decoded_notes(load_run(workdir), args.points, templates), low, high))


if __name__ == "__main__":
    main()
