"""Automation: time-stamped controls as a CSV table, and playing them on an engine offline.

The header is `time,z0,...,z{d-1},note,gain,gate` (seconds, latent values, pitch class 0-11
or name, gain 0-1, gate 0/1), one row per change. The panel's recorder writes this format and
`python -m timbre_jax.render --automation` replays it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import Controls, SynthEngine

FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}


def parse_note(text: str) -> int:
    """Pitch class from a name (C, C#, Db, ...) or an integer 0-11."""
    name = FLATS.get(text.strip(), text.strip().upper())
    if name in NOTE_NAMES:
        return NOTE_NAMES.index(name)
    if name.isdigit() and 0 <= int(name) < 12:
        return int(name)
    raise ParameterError(f"note must be a name (C, C#, ..., B) or 0-11, got {text!r}")


def check_span(latent, low, high) -> None:
    """Raises `ParameterError` if a latent point lies outside the span [low, high] [d]."""
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


def apply_controls(engine: SynthEngine, controls: Controls) -> None:
    engine.set_latent(controls.latent)
    engine.set_note(controls.note)
    engine.set_gain(controls.gain)
    engine.set_gate(controls.gate)


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
