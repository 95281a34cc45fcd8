"""`python -m timbre_jax.render`: the synth engine offline, to a WAV file.

    python -m timbre_jax.render --workdir RUN --latent 0.2,0.8 --note A --seconds 4 \\
        [--phase rtpghi] [--gain 0.8] [--velocity 100] --out a.wav
    python -m timbre_jax.render --model one_octave --note C,E,G --out chord.wav
    python -m timbre_jax.render --workdir RUN --automation curve.csv --out a.wav
    python -m timbre_jax.render --workdir RUN --input song.wav [--scale 1.2,0.8] --out b.wav

The first two hold fixed controls for --seconds, then release the notes and let them ring out
(so every file ends in silence, without a click); --note takes a note or a chord: names
(C, Eb, A3) or MIDI numbers (60,64,67). The third replays an automation CSV (the format the
panel's recorder writes: timbre_jax/synth/automation.py) with the phase methods, cuts (all
sound off), number of voices and decoding between notes it recorded (`--phase`, `--voices`
and `--between-notes` override them), from
the engine's seeded starting state; the fourth is the original MANNe effect, a recording
resynthesised through the model with its latents scaled.
A note the model was never trained on (C# on a model of C major scales), or outside a note
model's range, is refused, on the command line or in an automation row, naming the notes it
was trained on. Everything is checked before anything is rendered, `--out` too: a .wav name
in a folder that can be written, and an existing file is replaced only with `--overwrite`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from timbre_jax.analysis.embedding import latent_span
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.dsp import spectral
from timbre_jax.dsp.audio_io import read_audio, write_wav
from timbre_jax.errors import ParameterError
from timbre_jax.model.run import Run, describe_model, load_run, pretrained_names, run_folder
from timbre_jax.synth.automation import (
    apply_controls,
    check_span,
    parse_chord,
    read_automation,
    render_automation,
)
from timbre_jax.synth.engine import BETWEEN_NOTES, BLEND, VOICES, Controls, SynthEngine
from timbre_jax.synth.resynthesis import resynthesize
from timbre_jax.synth.voices import check_velocity


def parse_floats(text: str, *, name: str, count: int) -> tuple[float, ...]:
    """`count` comma-separated numbers, e.g. --latent 0.2,0.8."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as err:
        raise ParameterError(
            f"{name} must be {count} comma-separated numbers, got {text!r}"
        ) from err
    if len(values) != count:
        raise ParameterError(
            f"{name} needs {count} values for this model, got {len(values)}: {text!r}"
        )
    return values


def check_output(path: str, *, overwrite: bool) -> Path:
    """The WAV file to write, checked before any work (its folder is made here)."""
    out = Path(path)
    if out.is_dir():
        raise ParameterError(f"--out {path!r} is a folder; name a .wav file in it")
    if out.suffix.lower() != ".wav":
        raise ParameterError(f"--out {path!r}: render writes WAV files, name it NAME.wav")
    if out.exists() and not overwrite:
        raise ParameterError(f"--out {path!r} exists: pass --overwrite to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"--out {path!r}: cannot make its folder ({err.strerror})") from err
    if not os.access(out.parent, os.W_OK):
        raise ParameterError(f"--out {path!r}: its folder is not writable")
    return out


DEFAULT_NOTE, DEFAULT_SECONDS = "C", 4.0
BYTES_PER_SAMPLE = 12  # float32 hops, their concatenation, and the 16-bit copy written


UNKNOWN_MEMORY = 4 * 3600 * 44100 * BYTES_PER_SAMPLE * 2  # where it cannot be read: 4 h fit


def available_memory() -> int:
    """Bytes a new allocation can take: Linux's MemAvailable (free memory and reclaimable
    caches), else the free pages where the system says, else `UNKNOWN_MEMORY`."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return UNKNOWN_MEMORY


def check_length(seconds: float, *, what: str) -> None:
    """Refuses a render whose audio would take more than half the available memory, with
    the figures, before it starts."""
    need = seconds * spectral.SAMPLE_RATE * BYTES_PER_SAMPLE
    free = available_memory()
    if need > free / 2:
        longest = free / 2 / (spectral.SAMPLE_RATE * BYTES_PER_SAMPLE)
        raise ParameterError(f"{what}: {seconds:g} s of audio needs about {need / 1e9:.3g} GB to "
                             f"render, and {free / 1e9:.3g} GB are free: render at most "
                             f"{longest:.0f} s at once")  # fmt: skip


def check_flags(args) -> None:
    """Refuses flags that do not go together, before any work."""
    if args.scale and not args.input:
        raise ParameterError("--scale goes with --input (it scales a recording's latents)")
    if args.voices is not None and not args.automation:
        raise ParameterError("--voices goes with --automation (a --note render plays a voice "
                             "per note of its chord)")  # fmt: skip
    if args.between_notes is not None and not args.automation:
        raise ParameterError("--between-notes goes with --automation (a --note render has no "
                             "bend)")  # fmt: skip
    if args.voices is not None and args.voices < 1:
        raise ParameterError(f"--voices must be at least 1, got {args.voices}")
    fixed = {"--note": args.note, "--latent": args.latent, "--seconds": args.seconds}
    given = [flag for flag, value in fixed.items() if value is not None]
    if (args.automation or args.input) and given:
        source = "--automation" if args.automation else "--input"
        raise ParameterError(f"{given[0]} does not go with {source}, which sets it")


def render(run: Run, args) -> np.ndarray:
    """The audio the parsed arguments ask for: resynthesis, automation or fixed controls."""
    if args.input:
        scale = (
            parse_floats(args.scale, name="--scale", count=run.latent_dim) if args.scale else None
        )
        return resynthesize(run, read_audio(args.input, sample_rate=spectral.SAMPLE_RATE),
                            scale=scale)  # fmt: skip
    span = latent_span(run)
    if args.automation:
        rows, played = read_automation(args.automation, run.latent_dim, span,
                                       check_pitches=run.check_playable)  # fmt: skip
        voices = args.voices or played.voices or VOICES
        between = args.between_notes or played.between_notes or BLEND
        engine = SynthEngine(run, phase=args.phase, voices=voices, between_notes=between)
        if args.phase:  # the flag wins over the phase methods a take recorded
            rows = [(t, c._replace(phase=None)) for t, c in rows]
        unknown = {c.phase for _, c in rows} - {None, *engine.phase_methods}
        if unknown:
            raise ParameterError(f"automation: {run.name} cannot play phase {unknown.pop()!r} "
                                 f"(it plays {', '.join(engine.phase_methods)})")  # fmt: skip
        check_length(rows[-1][0] + engine.tail_seconds(), what=f"--automation {args.automation}")
        return render_automation(engine, rows, progress=True)
    seconds = DEFAULT_SECONDS if args.seconds is None else args.seconds
    if not (np.isfinite(seconds) and seconds > 0):
        raise ParameterError(f"--seconds must be a positive number, got {seconds}")
    check_length(seconds, what="--seconds")
    if not 0.0 <= args.gain <= 1.0:
        raise ParameterError(f"--gain must be in [0, 1], got {args.gain}")
    latent = (parse_floats(args.latent, name="--latent", count=run.latent_dim)
              if args.latent else run.start_latent)  # fmt: skip
    check_span(latent, *span)
    velocity = check_velocity(args.velocity)
    note = DEFAULT_NOTE if args.note is None else args.note
    pitches = parse_chord(note)
    run.check_playable(pitches, what=f"--note {note}")
    notes = tuple((pitch, velocity) for pitch in pitches)
    engine = SynthEngine(run, phase=args.phase, voices=max(len(notes), 1))
    apply_controls(engine, Controls(latent, args.gain, notes))
    engine.reset()
    held = engine.render(seconds, progress=True)
    engine.release_all()
    return np.concatenate([held, engine.render(engine.tail_seconds())])


@command
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m timbre_jax.render", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help=f"a pretrained model: one of {pretrained_names()}")
    parser.add_argument("--out", required=True, help="WAV file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--latent", help="comma-separated latent values (-0.1,0.5 works)")
    parser.add_argument(
        "--note", help=f"a note or chord: C, A3, 60 or C,E,G (default {DEFAULT_NOTE})"
    )
    parser.add_argument("--velocity", type=int, default=100, help="MIDI velocity 1-127")
    parser.add_argument("--voices", type=int, help="with --automation: voices to play it "
                        f"with (default: the take's, else {VOICES})")  # fmt: skip
    parser.add_argument("--seconds", type=float,
                        help=f"held, before the release (default {DEFAULT_SECONDS})")  # fmt: skip
    parser.add_argument("--gain", type=float, default=0.8)
    parser.add_argument("--phase", help="noise, rtpghi or harmonic (note models; "
                        "their default, else noise)")  # fmt: skip
    parser.add_argument("--between-notes", choices=BETWEEN_NOTES,
                        help="with --automation: what a note bent between two trained notes "
                        "decodes, blend, frames or nearest (default: the take's, else "
                        "blend)")  # fmt: skip
    parser.add_argument("--automation", help="CSV of time-stamped controls")
    parser.add_argument("--input", help="a recording to resynthesise (MANNe effect)")
    parser.add_argument("--scale", help="--input: comma-separated factors for the latents")
    args = parser.parse_args(argv, dash_values=("--latent", "--scale"))
    check_flags(args)
    out = check_output(args.out, overwrite=args.overwrite)
    folder = run_folder(workdir=args.workdir, model=args.model)
    if args.model:
        print(describe_model(folder))
    audio = render(load_run(folder), args)
    try:
        clipped = write_wav(out, audio, sample_rate=spectral.SAMPLE_RATE)
    except (OSError, RuntimeError) as err:  # soundfile's errors are RuntimeErrors
        raise ParameterError(f"cannot write {args.out!r}: {err}") from err
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    print(f"wrote {args.out}: {len(audio) / spectral.SAMPLE_RATE:.2f} s, peak {peak:.3f}"
          + (f", {clipped} samples clipped" if clipped else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
