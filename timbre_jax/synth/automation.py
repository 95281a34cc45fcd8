"""Automation: time-stamped controls as a CSV table, and playing them on an engine offline.

The header is `time,z0,...,z{d-1},gain,notes,phase,cut,voices,bend,vibrato,vibrato_hz,glide,`
`expression,residual,legato,between_notes`: seconds, latent values, gain 0-1, the notes gated
from that time on as space-separated `pitch:velocity` pairs (MIDI numbers, e.g. `60:100 64:100
67:90`, or note names, `C4:100 E4 G4:90`; empty for silence), the phase method (empty: the
engine's), `1` where all sound off (MIDI CC 120) stopped every voice at once at that time, the
number of voices the take was played with (the same on every row that gives it; empty:
`render`'s default), the pitch bend of every voice in semitones, the vibrato depth in cents
(empty: 0), its rate in Hz (empty: 5.5), the glide in seconds (empty: 0), the notes with an
expression of their own (`pitch:bend[:z0/z1/...]`, space-separated: the note's own bend on top
of the channel's and its own latent point; MPE and polyphonic pressure), and the level between
the harmonics under the harmonic phase in dB (empty: the synth's default), `1` where the
notes play legato (one line: the last of `notes` sounds, the others are keys still held), and
what a note model decoded for a voice bent between two trained notes (`blend`, `frames` or
`nearest`: `SynthEngine`'s `between_notes`; the same on every row that gives it; empty:
`render`'s default). Files without any number of the last eleven columns, written before them,
read so (with the residual they were played with, -20 dB). One row per change. A session's
takes are written in this format and `python -m timbre_jax.render --automation` replays it.
Files of the earlier one-note format (`...,note,gain,gate`, a pitch class) are read as that
note in octave 4 at velocity 100. Values are checked as on the command line; a bad row is named
by its line.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.errors import ParameterError
from timbre_jax.progress import progress_bar
from timbre_jax.synth.engine import (
    BETWEEN_NOTES,
    VIBRATO_HZ,
    Controls,
    SynthEngine,
    check_bend,
    check_glide,
    check_residual,
    check_vibrato,
    check_vibrato_rate,
)
from timbre_jax.synth.harmonic_phase import RESIDUAL_DB
from timbre_jax.synth.phase import PHASE_METHODS
from timbre_jax.synth.voices import check_pitch, check_velocity

OLD_RESIDUAL_DB = -20.0  # the harmonic phase's residual before it was a column
FLATS = {"DB": "C#", "EB": "D#", "GB": "F#", "AB": "G#", "BB": "A#"}
DEFAULT_OCTAVE = 4  # a note name without an octave: C -> C4 = MIDI 60
DEFAULT_VELOCITY = 100


class PlayedWith(NamedTuple):
    """What a take was played with, the same for all its rows (None: it does not say)."""

    voices: int | None = None  # notes sounding at once
    between_notes: str | None = None  # `SynthEngine`'s between_notes


NOT_SAID = PlayedWith()


def parse_note(text: str) -> int:
    """MIDI pitch of a note: a name with or without octave (C, C#, Db, A3, Bb5) or a number.

    Numbers 0-11 are pitch classes in octave 4 (7 -> G4 = 67), 12-127 are MIDI pitches.
    """
    text = text.strip().upper()
    if text.isdigit():
        number = int(text)
        return 12 * (DEFAULT_OCTAVE + 1) + number if number < 12 else check_pitch(number)
    name = text.rstrip("-0123456789")
    octave = text[len(name) :]
    name = FLATS.get(name, name)
    if name not in NOTE_NAMES or (octave and not octave.lstrip("-").isdigit()):
        raise ParameterError(
            f"a note is a name (C, C#, Db, ..., B, optionally with an octave: A3) or a MIDI "
            f"number, got {text!r}"
        )
    return check_pitch(12 * (int(octave or DEFAULT_OCTAVE) + 1) + NOTE_NAMES.index(name))


def parse_chord(text: str) -> tuple[int, ...]:
    """MIDI pitches of comma-separated notes, e.g. `C,E,G` or `60,64,67`."""
    pitches = tuple(parse_note(n) for n in text.split(","))
    if len(set(pitches)) != len(pitches):
        raise ParameterError(f"a chord names each note once, got {text!r}")
    return pitches


def check_span(latent, low, high, *, name: str = "--latent") -> None:
    """Raises `ParameterError` if a latent point lies outside the span [low, high] [d]."""
    outside = [i for i, v in enumerate(latent) if not low[i] <= v <= high[i]]
    if outside:
        i = outside[0]
        raise ParameterError(
            f"{name} z{i}={latent[i]} is outside the model's span [{low[i]:.3g}, {high[i]:.3g}]"
        )


def automation_header(latent_dim: int) -> list[str]:
    return ["time", *(f"z{i}" for i in range(latent_dim)), "gain", "notes", "phase", "cut",
            "voices", "bend", "vibrato", "vibrato_hz", "glide", "expression", "residual",
            "legato", "between_notes"]  # fmt: skip


def earlier_headers(latent_dim: int) -> list[list[str]]:
    """Headers of files written before later columns: each shorter prefix down to the one
    before phase (the columns came one or two at a time)."""
    header = automation_header(latent_dim)
    return [header[:n] for n in range(len(header) - 11, len(header))]


def legacy_header(latent_dim: int) -> list[str]:
    return ["time", *(f"z{i}" for i in range(latent_dim)), "note", "gain", "gate"]


def format_notes(notes: tuple[tuple[int, int], ...]) -> str:
    return " ".join(f"{pitch}:{velocity}" for pitch, velocity in notes)


def parse_notes(text: str) -> tuple[tuple[int, int], ...]:
    """`60:100 E4:90 G` -> ((60, 100), (64, 90), (67, 100)): MIDI numbers as written, or note
    names as `--note` takes them."""
    notes = []
    for item in text.split():
        pitch, _, velocity = item.partition(":")
        pitch = check_pitch(int(pitch)) if pitch.isdigit() else parse_note(pitch)
        notes.append((pitch, check_velocity(int(velocity or DEFAULT_VELOCITY))))
    return tuple(notes)


def format_expression(expression) -> str:
    """((60, 0.5, (0.2, 0.8)), (64, -1.0, ())) -> `60:0.5:0.2/0.8 64:-1.0`."""
    items = []
    for pitch, bend, latent in expression:
        point = ":" + "/".join(repr(float(v)) for v in latent) if latent else ""
        items.append(f"{pitch}:{float(bend)!r}{point}")
    return " ".join(items)


def parse_expression(text: str, notes, latent_dim: int) -> tuple:
    """The `expression` column: `pitch:bend[:z0/z1/...]` per note with its own, each a note of
    the row's `notes`."""
    gated, expression = {pitch for pitch, _ in notes}, []
    for item in text.split():
        pitch, bend, *point = item.split(":")
        if len(point) > 1:
            raise ParameterError(f"an expression is pitch:bend[:z0/z1/...], got {item!r}")
        pitch, latent = int(pitch), tuple(float(v) for v in point[0].split("/")) if point else ()
        if pitch not in gated:
            raise ParameterError(f"expression for {pitch}, a note the row does not gate")
        if latent and (len(latent) != latent_dim or not np.all(np.isfinite(latent))):
            raise ParameterError(f"a note's latent needs {latent_dim} finite values: {item!r}")
        expression.append((pitch, check_bend(float(bend)), latent))
    return tuple(expression)


def write_automation(path: str | Path, rows: list[tuple[float, Controls]], latent_dim: int,
                     played: PlayedWith = NOT_SAID) -> None:  # fmt: skip
    """Writes (seconds, controls) rows as an automation CSV; `played`: the engine's setup."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(automation_header(latent_dim))
        for seconds, c in rows:
            # values as repr writes them: read back, they are the same floats (a take replays
            # the exact latent and gain it played)
            values = [repr(float(v)) for v in (*c.latent, c.gain)]
            writer.writerow([f"{seconds:.6f}", *values, format_notes(c.notes), c.phase or "",
                             "1" if c.cut else "", played.voices or "", repr(c.bend),
                             repr(c.vibrato), repr(c.vibrato_hz), repr(c.glide),
                             format_expression(c.expression), repr(c.residual),
                             "1" if c.legato else "", played.between_notes or ""])  # fmt: skip


def _row(fields: dict, latent_dim: int, legacy: bool) -> tuple[float, Controls]:
    latent = tuple(float(fields[f"z{i}"]) for i in range(latent_dim))
    if legacy:
        pitch = parse_note(fields["note"])
        notes = ((pitch, DEFAULT_VELOCITY),) if int(fields["gate"]) else ()
    else:
        notes = parse_notes(fields["notes"] or "")
    phase = fields.get("phase") or None
    if phase is not None and phase not in PHASE_METHODS:
        raise ParameterError(f"phase must be one of {PHASE_METHODS} or empty, got {phase!r}")
    gain = float(fields["gain"])
    if not 0.0 <= gain <= 1.0:
        raise ParameterError(f"gain must be in [0, 1], got {gain}")
    seconds = float(fields["time"])
    if not (np.isfinite(seconds) and seconds >= 0):
        raise ParameterError(f"time must be a non-negative number of seconds, got {seconds}")
    cut, legato = (_flag(fields, name) for name in ("cut", "legato"))
    bend = check_bend(float(fields.get("bend") or 0.0))
    vibrato = check_vibrato(float(fields.get("vibrato") or 0.0))
    vibrato_hz = check_vibrato_rate(float(fields.get("vibrato_hz") or VIBRATO_HZ))
    glide = check_glide(float(fields.get("glide") or 0.0))
    expression = parse_expression(fields.get("expression") or "", notes, latent_dim)
    residual = fields.get("residual")  # None: a file from before the column
    residual = check_residual(OLD_RESIDUAL_DB if residual is None else
                              float(residual) if residual else RESIDUAL_DB)  # fmt: skip
    return seconds, Controls(latent, gain, notes, phase, cut, bend, vibrato, vibrato_hz, glide,
                             expression, residual, legato)  # fmt: skip


def _flag(fields: dict, name: str) -> bool:
    value = fields.get(name) or ""
    if value not in ("", "0", "1"):
        raise ParameterError(f"{name} must be 1, 0 or empty, got {value!r}")
    return value == "1"


def _played_with(fields: dict) -> PlayedWith:
    voices = fields.get("voices") or None
    if voices is not None and not (voices.isdigit() and int(voices) > 0):
        raise ParameterError(f"voices must be a positive whole number or empty, got {voices!r}")
    between = fields.get("between_notes") or None
    if between is not None and between not in BETWEEN_NOTES:
        raise ParameterError(f"between_notes must be one of {BETWEEN_NOTES} or empty, "
                             f"got {between!r}")  # fmt: skip
    return PlayedWith(voices and int(voices), between)


def _one_setup(path, played: set[PlayedWith]) -> PlayedWith:
    """The take's one setup from its rows' (a field empty on every row: None)."""
    setup = []
    for field, values in zip(PlayedWith._fields, zip(*played, strict=True), strict=True):
        given = set(values) - {None}
        if len(given) > 1:
            raise ParameterError(f"automation {str(path)!r}: one {field} for the take, "
                                 f"got {sorted(given)}")  # fmt: skip
        setup.append(given.pop() if given else None)
    return PlayedWith(*setup)


def check_width(fields: dict, width: int) -> None:
    """Refuses a csv.DictReader row with fewer or more fields than the header's `width`."""
    count = sum(v is not None for k, v in fields.items() if k is not None)
    count += len(fields.get(None, []))  # the fields past the header's
    if count != width:
        raise ParameterError(f"{count} fields where the header has {width}")


def check_time(rows: list) -> None:
    """Refuses the last row's time if it comes before the previous row's."""
    time_ = rows[-1][0]
    if len(rows) > 1 and time_ < rows[-2][0]:
        raise ParameterError(f"time {time_} comes before the previous row's {rows[-2][0]}: "
                             "rows must be in time order")  # fmt: skip


def read_automation(path: str | Path, latent_dim: int, span=None,
                    check_pitches=None) -> tuple[list, PlayedWith]:  # fmt: skip
    """[(seconds, controls)] rows of an automation CSV, in time order, and what it was
    played with. A row out of time order, or of another number of
    fields than the header, is refused with its line number.

    Args:
      path: the CSV file.
      latent_dim: the model's latent size.
      span: optional (low, high) [latent_dim]: latents outside it are refused.
      check_pitches: optional; called with each row's MIDI pitches, raises `ParameterError`
        to refuse them (`Run.check_trained`: notes the model was never trained on).
    """
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            legacy = reader.fieldnames == legacy_header(latent_dim)
            if not legacy and reader.fieldnames not in (automation_header(latent_dim),
                                                        *earlier_headers(latent_dim)):  # fmt: skip
                raise ParameterError(
                    f"{str(path)!r} must have the header {','.join(automation_header(latent_dim))}"
                )
            rows, played = [], set()
            for fields in reader:
                try:
                    check_width(fields, len(reader.fieldnames))
                    rows.append(_row(fields, latent_dim, legacy))
                    check_time(rows)
                    played.add(_played_with(fields))
                    if span is not None:
                        check_span(rows[-1][1].latent, *span, name="latent")
                    if check_pitches is not None:
                        check_pitches([pitch for pitch, _ in rows[-1][1].notes])
                except (ParameterError, ValueError, KeyError, TypeError, AttributeError) as err:
                    raise ParameterError(f"line {reader.line_num}: {err}") from err
    except (OSError, ParameterError, csv.Error) as err:
        raise ParameterError(f"cannot read automation {str(path)!r}: {err}") from err
    if not rows:
        raise ParameterError(f"automation {str(path)!r} has no rows")
    return rows, _one_setup(path, played)


def apply_controls(engine: SynthEngine, controls: Controls) -> None:
    """Stops every voice at once if `controls.cut`; sets the engine's latent, gain and phase
    method (if given), and plays or releases notes to match `controls`: the last
    `engine.voices.count` of them when more are gated (a note stolen stays stolen, rather than
    taking a voice back every hop)."""
    if controls.cut:
        engine.silence()
    engine.set_latent(controls.latent)
    engine.set_gain(controls.gain)
    engine.set_bend(controls.bend)
    engine.set_vibrato(controls.vibrato)
    engine.set_vibrato_rate(controls.vibrato_hz)
    engine.set_glide(controls.glide)
    engine.set_residual(controls.residual)
    if controls.phase is not None and controls.phase != engine.phase:
        engine.set_phase(controls.phase)
    if controls.legato != engine.voices.legato:
        engine.set_legato(controls.legato)
    notes = controls.notes[-engine.voices.count :]
    wanted, playing = dict(notes), dict(engine.controls.notes)
    releases = [p for p, v in engine.controls.notes if wanted.get(p) != v]
    presses = [(p, v) for p, v in notes if playing.get(p) != v]
    if controls.legato:  # a key pressed and the one before released in one hop: still legato
        _press(engine, presses)  # (a key pressed again at a new velocity: moved, not released)
        _release(engine, [p for p in releases if p not in dict(presses)])
    else:  # the keys released first free their voices
        _release(engine, releases)
        _press(engine, presses)
    own = {pitch: (bend, latent) for pitch, bend, latent in controls.expression}
    for pitch, _ in notes:  # each note its own, or the channel's (none left from before)
        engine.set_expression(pitch, *own.get(pitch, (0.0, ())))


def _press(engine: SynthEngine, notes) -> None:
    for pitch, velocity in notes:
        engine.note_on(pitch, velocity)


def _release(engine: SynthEngine, pitches) -> None:
    for pitch in pitches:
        engine.note_off(pitch)


def first_hops(times, seconds_per_hop: float) -> np.ndarray:
    """[rows] the hop from which each row applies: the first that starts at or after its time
    (within a thousandth of a hop: a take's rows, stamped with a hop's start, apply at that
    hop whatever the rounding of their times in the file)."""
    return np.ceil(np.asarray(times) / seconds_per_hop - 1e-3).astype(int)


def render_automation(engine: SynthEngine, rows: list[tuple[float, Controls]], *,
                      progress: bool = False) -> np.ndarray:  # fmt: skip
    """Plays the rows: each hop uses the last row at or before its start, and cuts the sound
    if any row applying from that hop did. After the last row every note is released and the
    sound rings out (`engine.tail_seconds()`). With `progress`, a bar once it has taken 2 s."""
    starts = first_hops([t for t, _ in rows], engine.hop_length / engine.sample_rate)
    cuts = {start for start, (_, controls) in zip(starts, rows, strict=True) if controls.cut}
    hops = []
    for k in progress_bar(range(max(1, starts[-1])), desc="render", unit="hop", show=progress,
                          delay=2.0):  # fmt: skip
        controls = rows[max(0, np.searchsorted(starts, k, "right") - 1)][1]
        apply_controls(engine, controls._replace(cut=k in cuts))
        if k == 0:
            engine.reset()
        hops.append(engine.next_hop())
    if starts[-1] > 0 and starts[-1] in cuts:  # a cut at the very end still cuts
        engine.silence()
    engine.release_all()
    hops.append(engine.render(engine.tail_seconds()))
    return np.concatenate(hops)
