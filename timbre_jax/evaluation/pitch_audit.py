"""What a listener hears a model play across the pad: held notes rendered through the engine
and their pitch measured by `librosa.pyin` on the audio, not on decoded frames.

Each case is a pad point, a key and a phase method: the engine holds the key at that point
for `seconds`, and pYIN (frames of 2048 samples, its default, which hold fewer than two
periods of the lowest pitch searched below F3; searching two octaves either side of the key,
so that octave errors are seen; a 10-cent pitch grid) tracks the held part after the first
`SETTLE_SECONDS`. A case has a pitch when at least `VOICED_SHARE` of its frames are voiced;
its pitch is the median f0 of the voiced frames, rounded to the nearest MIDI note for the
exact-note and pitch-class verdicts and kept in cents for the tuning. Power below 20 Hz is
the share of the held audio's power spectrum below that frequency, in dB.
"""

from __future__ import annotations

from typing import NamedTuple

import librosa
import numpy as np

from timbre_jax.analysis.embedding import latent_span
from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.harmonic_phase import midi_to_hz

SETTLE_SECONDS = 0.15  # the onset (one hop of attack and the first window) is not judged
VOICED_SHARE = 0.5  # a case with fewer voiced pYIN frames has no pitch
RUMBLE_HZ = 20.0
IN_TUNE_CENTS = 25  # a case heard as its key but further off than this is listed as a miss


class Case(NamedTuple):
    latent: tuple[float, ...]
    pitch: int  # the key held (MIDI)
    phase: str


class Heard(NamedTuple):
    pitch: int  # the key held
    heard: float  # median pYIN f0 as a fractional MIDI note (nan: no pitch)
    voiced: float  # share of voiced pYIN frames
    rumble_db: float  # power below 20 Hz against the total, dB


def pad_points(count: int, latent_dim: int, *, seed: int, low=0.05, high=0.95) -> np.ndarray:
    """[count, latent_dim] points drawn uniformly over [low, high]^d (seeded)."""
    return np.random.default_rng(seed).uniform(low, high, (count, latent_dim))


def pad_grid(per_axis: int, *, low=0.05, high=0.95) -> np.ndarray:
    """[per_axis**2, 2] a regular grid over [low, high]^2, row-major in (z0, z1)."""
    axis = np.linspace(low, high, per_axis)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


def render_held(engine: SynthEngine, case: Case, *, seconds: float) -> np.ndarray:
    """`seconds` of the key held at the case's point with its phase method, from silence."""
    engine.silence()
    engine.set_phase(case.phase)
    engine.set_latent(case.latent)
    engine.note_on(case.pitch, 100)
    engine.reset()
    audio = engine.render(seconds)
    engine.silence()
    engine.render(engine.tail_seconds())
    return audio


def rumble_db(audio: np.ndarray, *, sample_rate: int) -> float:
    """Power below `RUMBLE_HZ` against the total, in dB (-inf for none)."""
    power = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / sample_rate)
    low = power[freqs < RUMBLE_HZ].sum()
    return float(10 * np.log10(low / max(power.sum(), 1e-30))) if low > 0 else -np.inf


def hear(audio: np.ndarray, pitch: int, *, sample_rate: int) -> Heard:
    """pYIN's verdict on a held key's audio."""
    held = audio[round(SETTLE_SECONDS * sample_rate) :]
    f0 = midi_to_hz(pitch)
    track, voiced, _ = librosa.pyin(held, sr=sample_rate, fmin=max(f0 / 4, 30.0),
                                    fmax=min(f0 * 4, sample_rate / 4))  # fmt: skip
    share = float(np.mean(voiced)) if len(voiced) else 0.0
    heard = (float(librosa.hz_to_midi(np.median(track[voiced]))) if share >= VOICED_SHARE
             else np.nan)  # fmt: skip
    return Heard(pitch, heard, share, rumble_db(held, sample_rate=sample_rate))


def audit(engine: SynthEngine, cases, *, seconds: float = 1.0, progress=iter) -> list[Heard]:
    """pYIN's verdict on every case (rendered from silence, one at a time)."""
    return [hear(render_held(engine, case, seconds=seconds), case.pitch,
                 sample_rate=engine.sample_rate) for case in progress(cases)]  # fmt: skip


def summarise(heard: list[Heard]) -> dict:
    """Shares of cases heard as the key, as its pitch class, with no pitch; tuning in cents
    (median and largest |deviation| of the cases heard as the key) and the loudest rumble."""
    pitch = np.array([h.pitch for h in heard])
    sounded = np.array([h.heard for h in heard])
    pitched = np.isfinite(sounded)
    nearest = np.where(pitched, np.rint(np.nan_to_num(sounded)), -1).astype(int)
    exact = pitched & (nearest == pitch)
    cents = 100 * (sounded[exact] - pitch[exact])
    return {
        "cases": len(heard),
        "exact": float(exact.mean()),
        "pitch_class": float((pitched & (nearest % 12 == pitch % 12)).mean()),
        "no_pitch": float((~pitched).mean()),
        "median_abs_cents": float(np.median(np.abs(cents))) if len(cents) else np.nan,
        "max_abs_cents": float(np.max(np.abs(cents))) if len(cents) else np.nan,
        "max_rumble_db": float(max(h.rumble_db for h in heard)),
    }


def misses(cases: list[Case], heard: list[Heard]) -> list[dict]:
    """The cases not heard as their key, or heard further than `IN_TUNE_CENTS` from it:
    [{"latent", "pitch", "heard" (fractional MIDI, None for no pitch)}]."""
    return [{"latent": list(c.latent), "pitch": c.pitch,
             "heard": None if np.isnan(h.heard) else round(h.heard, 3)}
            for c, h in zip(cases, heard, strict=True)
            if np.isnan(h.heard) or abs(h.heard - c.pitch) * 100 > IN_TUNE_CENTS]  # fmt: skip


def cases_for(points, pitches, phases) -> list[Case]:
    return [Case(tuple(float(v) for v in p), int(k), m)
            for m in phases for p in points for k in pitches]  # fmt: skip


def trained_keys(run) -> list[int]:
    """Every key the model was trained on; without a record of them, the trained range (note
    model) or C4-B4 (chroma model)."""
    notes = run.trained_notes or (range(run.note_range[0], run.note_range[1] + 1)
                                  if run.note_range else range(60, 72))  # fmt: skip
    if run.conditioning == "chroma" and run.trained_classes is not None:
        notes = [n for n in notes if n % 12 in run.trained_classes]
    return [int(n) for n in notes]


def audit_notes(run, *, seed: int) -> list[int]:
    """One of `trained_keys` of each pitch class, in a random trained octave (seeded): all
    twelve classes on a chromatic model."""
    rng = np.random.default_rng(seed)
    by_class = {}
    for note in trained_keys(run):
        by_class.setdefault(note % 12, []).append(note)
    return [int(rng.choice(by_class[c])) for c in sorted(by_class)]


def audit_run(run, *, points: int = 25, grid: int | None = None, phases=None,
              seconds: float = 1.0, seed: int = 0, progress=iter) -> dict:  # fmt: skip
    """pYIN over `points` random pad points (uniform over the inner 90% of the playable span,
    0.05-0.95 of each axis) x `audit_notes`, for each phase method (default: every one the
    model can use); with `grid`, over a grid x grid pad (`pad_grid`, corners included) x
    every one of `trained_keys` instead (2-D models).

    Returns:
      {"notes": [...], "points": [[...]], phase method: `summarise` of its cases, with
      its `misses`}.
    """
    engine = SynthEngine(run, voices=1, seed=seed)
    phases = phases or engine.phase_methods
    low, high = latent_span(run)
    if grid is None:
        unit, notes = pad_points(points, run.latent_dim, seed=seed), audit_notes(run, seed=seed)
    elif run.latent_dim == 2:
        unit, notes = pad_grid(grid), trained_keys(run)
    else:
        raise ParameterError(f"a pad grid needs a 2-D model; {run.name} is {run.latent_dim}-D")
    pad = low + unit * (high - low)
    result = {"notes": notes, "points": pad.round(4).tolist()}
    for method in phases:
        cases = cases_for(pad, notes, [method])
        heard = audit(engine, cases, seconds=seconds, progress=progress)
        result[method] = summarise(heard) | {"misses": misses(cases, heard)}
    return result
