"""What to play for each corpus preset: clips of MIDI notes on General MIDI programs.

The paper's recordings (a MicroKORG, the TU-Note Violin Sample Library) are not
redistributable; these presets render analogues from SoundFonts of real sampled instruments,
with the paper's splits at the clip level and frame counts within 15% of its own.

- `one_octave`: the C major scale from middle C up one octave on each of the 80 `PROGRAMS`;
  70 programs train, 5 validate, 5 test (15.2k / 1.1k / 1.1k frames; paper 17k / 1k / 1k).
- `five_octave`: C major over five octaves (C2-C7) on the same programs and split
  (76.3k / 5.5k / 5.4k frames; paper 79k / 6k / 6k).
- `keys`: the chromatic scale C2-C7 (all twelve keys) on the same programs and split as
  `five_octave`, so that a note model hears every key it can be played with.
- `violin`: training = single notes of GM program 40 (Violin) over G3-E7 at six velocities
  and four lengths; validation and test = solo passages (scales, arpeggios, melodies) on the
  same program, each passage wholly in one of the two sets (96.8k / 10.4k / 9.4k frames;
  paper 91k / 10k / 10k).
- `tiny`: three programs, three notes each: a fast corpus for tests.

All timings are in seconds; every note is a `Note(pitch, velocity, onset, offset)`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from timbre_jax.errors import ParameterError


class Note(NamedTuple):
    pitch: int  # MIDI note number
    velocity: int  # MIDI velocity, 1-127
    onset: float  # seconds from the clip's start
    offset: float  # seconds from the clip's start (note-off)


class Clip(NamedTuple):
    name: str  # file stem, unique within the preset
    program: int  # General MIDI program, 0-127
    split: str  # "train", "val" or "test"
    notes: tuple[Note, ...]
    seconds: float  # length of the clip, release tail included


# The 80 pitched programs (0-based GM numbers). GM has 128: excluded are the unpitched ones
# (112-127 percussion and sound effects, 47 Timpani, 55 Orchestra Hit) and the 30 whose one-hot
# `pitch_filterbank` chroma named the sounding note on fewest frames of the one-octave scale
# rendered from TimGM6mb (percent in brackets): their strongest partials are not octaves of
# the fundamental (odd-harmonic reeds, fifth-layered leads), or the sample is detuned or noisy.
# 9 Glockenspiel [27], 18 Organ 3 [62], 20 Reed Organ [47], 22 Harmonica [62], 23 Bandoneon
# [72], 25 Steel Guitar [73], 27 Clean Guitar [73], 29 Overdrive Guitar [53], 30 Distortion
# Guitar [50], 49 Slow Strings [75], 56 Trumpet [36], 64 Soprano Sax [73], 67 Baritone Sax
# [33], 69 English Horn [73], 71 Clarinet [34], 77 Shakuhachi [74], 78 Whistle [0], 84 Charang
# [55], 86 Fifths Lead [53], 89 Warm Pad [66], 93 Metal Pad [71], 96 Ice Rain [62], 97
# Soundtrack [26], 98 Crystal [37], 101 Goblin [30], 105 Banjo [60], 106 Shamisen [43], 107
# Koto [69], 109 Bagpipe [43], 111 Shanai [25]. The kept programs scored 76-100%.
PROGRAMS = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19, 21, 24,
    26, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 48, 50,
    51, 52, 53, 54, 57, 58, 59, 60, 61, 62, 63, 65, 66, 68, 70, 72, 73, 74, 75, 76,
    79, 80, 81, 82, 83, 85, 87, 88, 90, 91, 92, 94, 95, 99, 100, 102, 103, 104, 108, 110,
)  # fmt: skip
VAL_PROGRAMS = PROGRAMS[3::16]  # 3 Honky-tonk, 33 Fingered Bass, 51 Synth Strings 2, ...
TEST_PROGRAMS = PROGRAMS[11::16]  # one of every 16, spread over the GM families
VIOLIN = 40
C_MAJOR = (0, 2, 4, 5, 7, 9, 11)  # semitones above C
RELEASE = 0.4  # seconds of silence-bound release after the last note of a clip


def _program_split(program: int) -> str:
    if program in VAL_PROGRAMS:
        return "val"
    return "test" if program in TEST_PROGRAMS else "train"


def _sequence(pitches, *, note_seconds: float, velocity: int = 100) -> tuple[Note, ...]:
    """Legato notes back to back, each `note_seconds` long."""
    return tuple(
        Note(int(p), velocity, i * note_seconds, (i + 1) * note_seconds)
        for i, p in enumerate(pitches)
    )


def c_major_scale(low: int, octaves: int) -> list[int]:
    """Ascending C major from MIDI note `low` (a C) over `octaves` octaves, top C included."""
    return [low + 12 * o + s for o in range(octaves) for s in C_MAJOR] + [low + 12 * octaves]


def chromatic_scale(low: int, octaves: int) -> list[int]:
    """Ascending semitones from MIDI note `low` over `octaves` octaves, top note included."""
    return list(range(low, low + 12 * octaves + 1))


def _scale_clips(pitches: list[int], note_seconds: float, programs=PROGRAMS) -> list[Clip]:
    notes = _sequence(pitches, note_seconds=note_seconds)
    seconds = notes[-1].offset + RELEASE
    return [Clip(f"program{p:03d}", p, _program_split(p), notes, seconds) for p in programs]


def _violin_single_notes() -> list[Clip]:
    """One training clip per pitch: every velocity x length, each note followed by a rest."""
    velocities, lengths, rest = (40, 64, 88, 100, 112, 127), (0.5, 1.0, 2.0, 4.0), 0.5
    clips = []
    for pitch in range(55, 101):  # G3, the open G string, to E7
        notes, t = [], 0.0
        for velocity in velocities:
            for length in lengths:
                notes.append(Note(pitch, velocity, t, t + length))
                t += length + rest
        clips.append(Clip(f"note{pitch:03d}", VIOLIN, "train", tuple(notes), t))
    return clips


# Melodies as (semitones above the tonic, beats); traditional tunes in the public domain.
MELODIES = {
    "ode_to_joy": [(4, 1), (4, 1), (5, 1), (7, 1), (7, 1), (5, 1), (4, 1), (2, 1), (0, 1),
                   (0, 1), (2, 1), (4, 1), (4, 1.5), (2, 0.5), (2, 2)],
    "twinkle": [(0, 1), (0, 1), (7, 1), (7, 1), (9, 1), (9, 1), (7, 2), (5, 1), (5, 1),
                (4, 1), (4, 1), (2, 1), (2, 1), (0, 2)],
    "frere_jacques": [(0, 1), (2, 1), (4, 1), (0, 1), (0, 1), (2, 1), (4, 1), (0, 1), (4, 1),
                      (5, 1), (7, 2), (4, 1), (5, 1), (7, 2)],
    "amazing_grace": [(-5, 1), (0, 2), (4, 0.5), (0, 0.5), (4, 2), (2, 1), (0, 2), (-3, 1),
                      (-5, 2), (-5, 1), (0, 2), (4, 0.5), (0, 0.5), (4, 2), (2, 1), (7, 3)],
    "greensleeves": [(-3, 1), (0, 2), (2, 1), (4, 1.5), (5, 0.5), (4, 1), (2, 2), (-1, 1),
                     (-5, 1.5), (-3, 0.5), (-1, 1), (0, 2), (-3, 1), (-3, 1.5), (-4, 0.5),
                     (-3, 1), (-1, 2), (-4, 1), (-8, 2)],
}  # fmt: skip


def _violin_passages() -> list[Clip]:
    """Solo passages; within each kind (scale, arpeggio, melody) they alternate between
    validation and test, so each set holds whole passages and half of every kind."""
    rng = np.random.default_rng(2019)
    passages = []  # (name, pitches, beat seconds per note)
    for tonic in range(55, 67):  # G3 to F#4
        for mode, steps in (("major", (0, 2, 4, 5, 7, 9, 11)), ("minor", (0, 2, 3, 5, 7, 8, 11))):
            up = [tonic + 12 * o + s for o in range(2) for s in steps] + [tonic + 24]
            passages.append((f"scale_{tonic}_{mode}", up + up[-2::-1], [0.25] * (2 * len(up) - 1)))
            triad = (0, 4, 7) if mode == "major" else (0, 3, 7)
            arp = [tonic + 12 * o + s for o in range(2) for s in triad] + [tonic + 24]
            passages.append((f"arpeggio_{tonic}_{mode}", arp + arp[-2::-1], [0.3] * 13))
    for name, tune in MELODIES.items():
        for tonic, beat in ((62, 0.5), (67, 0.4), (69, 0.6), (72, 0.45)):
            pitches = [tonic + step for step, _ in tune]
            passages.append((f"{name}_{tonic}", pitches, [beat * beats for _, beats in tune]))
    clips, seen = [], {}
    for i, (name, pitches, durations) in enumerate(passages):
        kind = name.split("_")[0]
        seen[kind] = seen.get(kind, -1) + 1
        onsets = np.concatenate([[0.0], np.cumsum(durations)])
        velocities = rng.integers(60, 121, len(pitches))
        notes = tuple(
            Note(int(p), int(v), float(on), float(on + 0.95 * d))
            for p, v, on, d in zip(pitches, velocities, onsets[:-1], durations, strict=True)
        )
        split = "val" if seen[kind] % 2 == 0 else "test"
        clips.append(Clip(f"passage{i:03d}_{name}", VIOLIN, split, notes, onsets[-1] + RELEASE))
    return clips


PRESETS = {
    "one_octave": lambda: _scale_clips(c_major_scale(60, 1), note_seconds=0.6),
    "five_octave": lambda: _scale_clips(c_major_scale(36, 5), note_seconds=0.7),
    "keys": lambda: _scale_clips(chromatic_scale(36, 5), note_seconds=0.7),
    "violin": lambda: _violin_single_notes() + _violin_passages(),
    "tiny": lambda: [
        Clip(f"program{p:03d}", p, split, _sequence((60, 64, 67), note_seconds=0.3), 1.2)
        for p, split in ((0, "train"), (40, "val"), (73, "test"))
    ],
    # for the tests of note conditioning: C and G in three octaves, twice on each program
    "tiny_octaves": lambda: [
        Clip(
            f"program{p:03d}_{split}",
            p,
            split,
            _sequence((48, 55, 60, 67, 72, 79) * 2, note_seconds=0.25),
            3.2,
        )
        for p, split in ((0, "train"), (73, "train"), (0, "val"), (0, "test"))
    ],  # fmt: skip
}


def preset_clips(name: str) -> list[Clip]:
    """The clips of a preset named in `PRESETS`."""
    if name not in PRESETS:
        raise ParameterError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
