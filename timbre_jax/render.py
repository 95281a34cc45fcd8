"""`python -m timbre_jax.render`: the synth engine offline, to a WAV file.

    python -m timbre_jax.render --workdir RUN --latent 0.2,0.8 --note A --seconds 4 \\
        [--phase rtpghi] [--gain 0.8] --out a.wav
    python -m timbre_jax.render --workdir RUN --automation curve.csv --out a.wav
    python -m timbre_jax.render --workdir RUN --input song.wav [--scale 1.2,0.8] --out b.wav

An automation file is a CSV table with the header `time,z0,...,z{d-1},note,gain,gate`
(seconds, latent values, pitch class 0-11 or name, gain 0-1, gate 0/1), one row per change;
the panel's recorder writes the same format, so a performance can be replayed. `--input`
is the original MANNe effect: each frame of a recording is encoded (with its own chroma),
its latents optionally scaled, decoded, and resynthesised with the input's own phase and
per-frame loudness.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax import chroma, spectral
from timbre_jax.audio_io import read_audio, write_wav
from timbre_jax.checkpoint import load_model
from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import Controls, SynthEngine


def parse_note(text: str) -> int:
    """Pitch class from a name (C, C#, Db, ...) or an integer 0-11."""
    flats = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
    name = flats.get(text.strip(), text.strip().upper())
    if name in chroma.NOTE_NAMES:
        return chroma.NOTE_NAMES.index(name)
    if name.isdigit() and 0 <= int(name) < 12:
        return int(name)
    raise ParameterError(f"note must be a name (C, C#, ..., B) or 0-11, got {text!r}")


def parse_floats(text: str, *, name: str, count: int) -> tuple[float, ...]:
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


def check_span(workdir, latent) -> None:
    """Raises `ParameterError` if a latent point lies outside the span the model uses."""
    from timbre_jax.embed import latent_span

    low, high = latent_span(workdir, load_model(workdir).meta)
    outside = [i for i, v in enumerate(latent) if not low[i] <= v <= high[i]]
    if outside:
        i = outside[0]
        raise ParameterError(
            f"--latent z{i}={latent[i]} is outside the model's span [{low[i]:.3g}, {high[i]:.3g}]"
        )


def automation_header(latent_dim: int) -> list[str]:
    return ["time", *(f"z{i}" for i in range(latent_dim)), "note", "gain", "gate"]


def write_automation(path: str | Path, rows: list[tuple[float, Controls]], latent_dim: int) -> None:
    """Writes (seconds, controls) rows as an automation CSV."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(automation_header(latent_dim))
        for seconds, c in rows:
            writer.writerow([f"{seconds:.6f}", *(f"{v:.6f}" for v in c.latent), c.note,
                             f"{c.gain:.4f}", int(c.gate)])  # fmt: skip


def read_automation(path: str | Path, latent_dim: int) -> list[tuple[float, Controls]]:
    """(seconds, controls) rows of an automation CSV, sorted by time."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            expected = automation_header(latent_dim)
            if reader.fieldnames != expected:
                raise ParameterError(f"{str(path)!r} must have the header {','.join(expected)}")
            rows = [
                (float(r["time"]), Controls(tuple(float(r[f"z{i}"]) for i in range(latent_dim)),
                                            parse_note(r["note"]), float(r["gain"]),
                                            bool(int(r["gate"]))))
                for r in reader
            ]  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ParameterError(f"cannot read automation {str(path)!r}: {err}") from err
    if not all(np.isfinite(t) and t >= 0 for t, _ in rows):
        raise ParameterError(f"automation {str(path)!r} has a negative or non-finite time")
    if not rows:
        raise ParameterError(f"automation {str(path)!r} has no rows")
    return sorted(rows, key=lambda row: row[0])


def render_automation(engine: SynthEngine, rows: list[tuple[float, Controls]]) -> np.ndarray:
    """Plays the rows: each hop uses the last row at or before its start; ends at the last row."""
    times = np.array([t for t, _ in rows])
    n_hops = max(1, int(np.ceil(times[-1] * engine.sample_rate / engine.hop_length)))
    hops = []
    for k in range(n_hops):
        controls = rows[
            max(0, np.searchsorted(times, k * engine.hop_length / engine.sample_rate, "right") - 1)
        ][1]
        apply_controls(engine, controls)
        if k == 0:
            engine.reset()
        hops.append(engine.next_hop())
    return np.concatenate(hops)


def apply_controls(engine: SynthEngine, controls: Controls) -> None:
    engine.set_latent(controls.latent)
    engine.set_note(controls.note)
    engine.set_gain(controls.gain)
    engine.set_gate(controls.gate)


def resynthesize(workdir, signal: np.ndarray, *, scale=None) -> np.ndarray:
    """The MANNe effect on a mono 44.1 kHz signal: encode, scale, decode, input's phase."""
    loaded = load_model(workdir)
    spec = loaded.meta["spectral"]
    window = spectral.hann_window(spec["n_fft"])
    spectrum = np.asarray(spectral.stft(signal, window=window, hop_length=spec["hop_length"]))
    mag = np.abs(spectrum)
    peak = mag.max(axis=1, keepdims=True)
    frames = mag / np.where(peak > 0, peak, 1.0)
    bank = chroma.filterbank(
        spec["chroma_method"], sample_rate=spec["sample_rate"], n_fft=spec["n_fft"]
    )
    one_hot = np.asarray(chroma.one_hot(chroma.chroma(frames, bank=bank)))
    diff = np.asarray(spectral.frame_diff(frames))
    variables = {"params": loaded.params}

    @jax.jit
    def apply(frames, one_hot, diff, factors):
        z = loaded.model.apply(variables, frames, one_hot, diff, method="encode") * factors
        return loaded.model.apply(variables, z, one_hot, method="decode")

    factors = jnp.ones(loaded.meta["model"]["latent_dim"]) if scale is None else jnp.asarray(scale)
    decoded = np.asarray(apply(frames, one_hot, diff, factors)) * peak
    out = spectral.istft(decoded * np.exp(1j * np.angle(spectrum)), window=window,
                         hop_length=spec["hop_length"], length=len(signal))  # fmt: skip
    return np.asarray(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m timbre_jax.render", description=__doc__)
    parser.add_argument("--workdir", required=True, help="a run folder")
    parser.add_argument("--out", required=True, help="WAV file to write")
    parser.add_argument("--latent", help="comma-separated latent values")
    parser.add_argument("--note", default="C", help="note name or pitch class 0-11")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--gain", type=float, default=0.8)
    parser.add_argument("--phase", default="noise", help="noise or rtpghi")
    parser.add_argument("--automation", help="CSV of time-stamped controls")
    parser.add_argument("--input", help="a recording to resynthesise (MANNe effect)")
    parser.add_argument("--scale", help="--input: comma-separated factors for the latents")
    args = parser.parse_args(argv)
    try:
        loaded_dim = load_model(args.workdir).meta["model"]["latent_dim"]
        if args.input:
            scale = (
                parse_floats(args.scale, name="--scale", count=loaded_dim) if args.scale else None
            )
            signal = read_audio(args.input, sample_rate=spectral.SAMPLE_RATE)
            audio = resynthesize(args.workdir, signal, scale=scale)
        else:
            engine = SynthEngine(load_model(args.workdir), phase=args.phase)
            if args.automation:
                audio = render_automation(engine, read_automation(args.automation, loaded_dim))
            else:
                if args.seconds <= 0:
                    raise ParameterError(f"--seconds must be positive, got {args.seconds}")
                latent = (parse_floats(args.latent, name="--latent", count=loaded_dim)
                          if args.latent else (0.5,) * loaded_dim)  # fmt: skip
                check_span(args.workdir, latent)
                apply_controls(engine, Controls(latent, parse_note(args.note), args.gain, True))
                engine.reset()
                audio = engine.render(args.seconds)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        clipped = write_wav(args.out, audio, sample_rate=spectral.SAMPLE_RATE)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    print(f"wrote {args.out}: {len(audio) / spectral.SAMPLE_RATE:.2f} s, peak {peak:.3f}"
          + (f", {clipped} samples clipped" if clipped else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
