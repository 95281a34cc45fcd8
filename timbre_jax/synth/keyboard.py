"""The computer keyboard as a piano, and note names: the panel's key mapping, without Qt.

One chromatic octave on the usual DAW layout: the home row A S D F G H J K plays the white
keys C D E F G A B C, the row above (W E T Y U) the black keys; Z and X shift the octave down
and up. The base octave starts at 4 (A plays C4 = MIDI 60).
"""

from __future__ import annotations

KEYS = "AWSEDFTGYHUJK"  # C C# D D# E F F# G G# A A# B C (the next octave)
OCTAVE_DOWN, OCTAVE_UP = "Z", "X"
LOWEST_OCTAVE, HIGHEST_OCTAVE = -1, 8  # C-1 = MIDI 0; K of octave 8 plays C9 = MIDI 120


def pitch_of(note_class: int, octave: int) -> int:
    """MIDI pitch of a pitch class (0 = C) in an octave: (0, 4) -> 60."""
    return 12 * (octave + 1) + note_class


class ComputerKeyboard:
    """Which keys are down and what they play. Keys are single upper-case letters.

    A key plays the pitch it had when pressed, so its release stops that pitch even if the
    octave changed meanwhile.
    """

    def __init__(self, octave: int = 4):
        self.octave = octave
        self.down: dict[str, int] = {}  # key -> the pitch it plays

    def press(self, key: str) -> int | None:
        """The pitch to start, or None (not a note key, already down, or an octave key)."""
        if key in (OCTAVE_DOWN, OCTAVE_UP):
            step = 1 if key == OCTAVE_UP else -1
            self.octave = min(HIGHEST_OCTAVE, max(LOWEST_OCTAVE, self.octave + step))
            return None
        if len(key) != 1 or key not in KEYS or key in self.down:
            return None
        self.down[key] = pitch_of(KEYS.index(key), self.octave)
        return self.down[key]

    def release(self, key: str) -> int | None:
        """The pitch to stop, or None if the key plays nothing."""
        return self.down.pop(key, None)
