"""The harmonic phase's residual: pitch heard against timbre variety, per level.

Under the harmonic phase what the decoder puts between a note's harmonics (bow noise,
breath) sounds `residual` dB down. Lower, the pitch is clearer; higher, more of the decoded
timbre is heard. For each shipped note model (`--models`, its note `--notes`) and each level,
it renders the note held at a 5 x 5 grid of the pad over [0.05, 0.95] and prints:
  - pitch: the fraction of grid points whose pYIN pitch (median over the held note) is
    within 50 cents of the note played;
  - variety: the mean distance between the grid points' mean MFCCs 1-19 (how different the
    pad's timbres sound), and its ratio to the same with noise phase (the decoded frames as
    they are, whose pitch is the decoder's); and that ratio over only the points where the
    noise phase plays the key, so that its variety of wrong pitches does not count.

Usage: python launch/bench_residual.py [--models violin keys] [--notes A4 C4]
                                       [--levels -40 -30 -20 -12 -6 0]
"""

from __future__ import annotations

import itertools

import librosa
import numpy as np

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.model.run import load_run, run_folder
from timbre_jax.synth.automation import parse_note
from timbre_jax.synth.engine import SynthEngine

GRID = np.linspace(0.05, 0.95, 5)


def renders(run, pitch: int, phase: str, residual: float | None) -> list[np.ndarray]:
    """The note held 1 s at each grid point (its last 0.6 s)."""
    engine = SynthEngine(run, phase=phase, voices=1)
    if residual is not None:
        engine.set_residual(residual)
    audio = []
    for point in itertools.product(GRID, GRID):
        engine.silence()
        engine.set_latent(point)
        engine.note_on(pitch)
        engine.reset()
        audio.append(engine.render(1.0)[round(0.4 * engine.sample_rate) :])
    return audio


def pitch_right(audio: list[np.ndarray], pitch: int, sample_rate: int) -> np.ndarray:
    """[clips] bool: whether pYIN's median pitch of each clip is within 50 cents of `pitch`."""
    hz = librosa.midi_to_hz(pitch)
    right = []
    for clip in audio:
        f0, voiced, _ = librosa.pyin(clip, fmin=hz / 2.5, fmax=hz * 2.5, sr=sample_rate,
                                     frame_length=4096)  # fmt: skip
        heard = np.nanmedian(np.where(voiced, f0, np.nan)) if voiced.any() else np.nan
        right.append(bool(np.isfinite(heard) and abs(1200 * np.log2(heard / hz)) <= 50))
    return np.array(right)


def variety(audio: list[np.ndarray], sample_rate: int) -> float:
    """Mean pairwise distance of the clips' mean MFCCs 1-19."""
    means = np.array([librosa.feature.mfcc(y=clip, sr=sample_rate, n_mfcc=20)[1:].mean(axis=1)
                      for clip in audio])  # fmt: skip
    pairs = [np.linalg.norm(a - b) for a, b in itertools.combinations(means, 2)]
    return float(np.mean(pairs))


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["violin", "keys"])
    parser.add_argument("--notes", nargs="+", default=["A4", "C4"], help="one per model")
    parser.add_argument("--levels", nargs="+", type=float, default=[-40, -30, -20, -12, -6, 0])
    args = parser.parse_args(argv)
    print(
        "| model | note | residual (dB) | pitch right (pYIN) | variety (MFCC) | variety / noise "
        "phase's | the same where the noise phase plays the key |\n|---|---|---|---|---|---|---|"
    )
    for name, note in zip(args.models, args.notes, strict=True):
        run, pitch = load_run(run_folder(model=name)), parse_note(note)
        rate = run.spectral["sample_rate"]
        noise = renders(run, pitch, "noise", None)
        reference, keyed = variety(noise, rate), pitch_right(noise, pitch, rate)
        where = [clip for clip, right in zip(noise, keyed, strict=True) if right]
        print(f"| {name} | {note} | noise phase | {keyed.mean():.2f} | {reference:.1f} | 1.00 | "
              f"1.00 ({keyed.sum()} points) |")  # fmt: skip
        for level in args.levels:
            audio = renders(run, pitch, "harmonic", level)
            spread = variety(audio, rate)
            kept = [clip for clip, right in zip(audio, keyed, strict=True) if right]
            alike = variety(kept, rate) / variety(where, rate) if len(kept) > 1 else np.nan
            print(f"| {name} | {note} | {level:g} | {pitch_right(audio, pitch, rate).mean():.2f} | "
                  f"{spread:.1f} | {spread / reference:.2f} | {alike:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
