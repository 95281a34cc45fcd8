"""The computer keyboard as a piano, and note names: the panel's key mapping, without Qt.

One chromatic octave on the usual DAW layout: the home row A S D F G H J K plays the white
keys C D E F G A B C, the row above (W E T Y U) the black keys; Z and X shift the octave down
and up. The base octave starts at 4 (A plays C4 = MIDI 60).

Keys a model was never trained on (`Run.untrained`) do not sound, on this keyboard or on
MIDI: `UntrainedKeys` refuses them and says each once, for the panel's status line.
"""

from __future__ import annotations

from timbre_jax.dsp.chroma import note_name
from timbre_jax.model.run import Run

KEYS = "AWSEDFTGYHUJK"  # C C# D D# E F F# G G# A A# B C (the next octave)
OCTAVE_DOWN, OCTAVE_UP = "Z", "X"
LOWEST_OCTAVE, HIGHEST_OCTAVE = -1, 8  # C-1 = MIDI 0; K of octave 8 plays C9 = MIDI 120


def pitch_of(note_class: int, octave: int) -> int:
    """MIDI pitch of a pitch class (0 = C) in an octave: (0, 4) -> 60."""
    return 12 * (octave + 1) + note_class


class UntrainedKeys:
    """The keys a model was never trained on: refused, and each said once.

    The MIDI thread refuses keys while the panel's timer reads what was refused, so the keys
    said are a list that only grows (read by slices, which need no lock).

    Args:
      run: the model played, or None: every key sounds.
    """

    def __init__(self, run: Run | None = None):
        self.run = run
        self.said: list[int] = []  # the MIDI pitches refused so far, each once
        self._told = 0  # how many of them `news` has returned

    def plays(self, pitch: int) -> bool:
        """Whether MIDI `pitch` may sound (`Run.plays`), saying nothing."""
        return self.run is None or self.run.plays(pitch)

    def allows(self, pitch: int) -> bool:
        """Whether MIDI `pitch` may sound; a refused key is added to `said` the first time."""
        if self.plays(pitch):
            return True
        if pitch not in self.said:
            self.said.append(pitch)
        return False

    def news(self) -> str:
        """The keys refused since the last call, in one line ("C#4 F#4: not trained, not
        played"), or "" if none."""
        new = self.said[self._told :]
        self._told += len(new)
        return f"{' '.join(note_name(p) for p in new)}: not trained, not played" if new else ""


class ComputerKeyboard:
    """Which keys are down and what they play. Keys are single upper-case letters.

    A key plays the pitch it had when pressed, so its release stops that pitch even if the
    octave changed meanwhile.

    Args:
      octave: the octave of the home row's first key (4: A plays C4).
      keys: what the model plays; a key it was never trained on plays nothing.
    """

    def __init__(self, octave: int = 4, keys: UntrainedKeys | None = None):
        self.octave = octave
        self.keys = keys if keys is not None else UntrainedKeys()
        self.down: dict[str, int] = {}  # key -> the pitch it plays

    def press(self, key: str) -> int | None:
        """The pitch to start, or None (not a note key, already down, an octave key, or a key
        the model was never trained on)."""
        if key in (OCTAVE_DOWN, OCTAVE_UP):
            step = 1 if key == OCTAVE_UP else -1
            self.octave = min(HIGHEST_OCTAVE, max(LOWEST_OCTAVE, self.octave + step))
            return None
        if len(key) != 1 or key not in KEYS or key in self.down:
            return None
        pitch = pitch_of(KEYS.index(key), self.octave)
        if not self.keys.allows(pitch):
            return None
        self.down[key] = pitch
        return pitch

    def release(self, key: str) -> int | None:
        """The pitch to stop, or None if the key plays nothing."""
        return self.down.pop(key, None)
