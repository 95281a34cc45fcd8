"""Voices of the polyphonic engine: which voice plays which key, velocity, sustain, envelopes.

Allocation: a note-on takes a free voice, else the oldest releasing one, else the oldest held
one (stealing). A key that is already sounding re-gates its own voice. The sustain pedal keeps
released keys gated until it goes up. Envelopes move once per hop (the engine scales each
voice's spectrum by them, and the overlap-add of Hann frames smooths the steps): a gated voice
rises to 1 at `attack_rate` per hop, a released one falls at `release_rate`; a stolen voice
starts its new note from silence, while the old note's last frames ring out in the
overlap-add (at most n_fft - hop samples, 70 ms at the paper's settings), so nothing clicks.

Legato (`set_legato`): one line of notes, as a violinist plays. A key pressed while a note is
gated moves that note's voice to the new key without a new attack (`moved`: the engine
continues its oscillators and slides it from the old note by the glide); releasing the key
sounding moves it back to the last key still held, and releasing the last one ends the note.

Velocity to gain: (velocity / 127) ** 2, i.e. 40 log10(velocity / 127) dB, the General MIDI
(DLS) curve: velocity 64 is -11.9 dB, 32 is -24.0 dB below velocity 127.

One thread plays them (the engine's: a session's producer, or an offline render); other
threads reach them only through a `Session`.
"""

from __future__ import annotations

import numpy as np

from timbre_jax.errors import ParameterError


def velocity_gain(velocity: int) -> float:
    """Amplitude for a MIDI velocity 1-127 on the General MIDI curve (127 -> 1)."""
    return (velocity / 127) ** 2


def check_pitch(pitch: int) -> int:
    if not 0 <= int(pitch) <= 127:
        raise ParameterError(f"a note must be a MIDI pitch 0-127, got {pitch!r}")
    return int(pitch)


def check_velocity(velocity: int) -> int:
    if not 1 <= int(velocity) <= 127:
        raise ParameterError(f"velocity must be 1-127, got {velocity!r}")
    return int(velocity)


class Voices:
    """`count` voices' keys and envelopes.

    Args:
      count: the number of voices (the most notes that sound at once).
      attack_rate, release_rate: envelope change per hop while gated / released (0..1].
    """

    def __init__(self, count: int, *, attack_rate: float, release_rate: float):
        if not 1 <= count <= 64:
            raise ParameterError(f"voices must be 1-64, got {count!r}")
        self.count = count
        self.attack_rate, self.release_rate = attack_rate, release_rate
        self.pitch = np.full(count, -1)  # MIDI pitch of each voice's note; -1 never used
        self.velocity = np.zeros(count, int)
        self.key_down = np.zeros(count, bool)  # its key is held
        self.sustained = np.zeros(count, bool)  # released while the pedal was down
        self.envelope = np.zeros(count)
        self.fresh = np.zeros(count, bool)  # a new note since the last hop: reset its phase
        self.started = np.zeros(count, int)  # order of note-ons, for stealing the oldest
        self.glide_from = np.full(count, -1)  # the note played before each voice's (-1: none)
        self.moved = np.zeros(count, bool)  # moved to a new key by legato since the last hop
        self.last_pitch = -1  # the last note played
        self.pedal = False
        self.legato = False
        self._line: dict[int, int] = {}  # legato: pitch -> velocity of the keys on, in order
        self._notes_on = 0

    @property
    def gated(self) -> np.ndarray:
        """[count] bool: the voices whose note should sound (key held or sustained)."""
        return self.key_down | self.sustained

    def _allocate(self, pitch: int) -> int:
        gated = self.gated
        same = np.flatnonzero((self.pitch == pitch) & ((self.envelope > 0) | gated))
        if len(same):
            return int(same[0])
        for candidates in ((self.envelope == 0) & ~gated, ~gated, gated):
            found = np.flatnonzero(candidates)
            if len(found):
                return int(found[np.argmin(self.started[found])])
        raise AssertionError("unreachable: the last candidates are all voices")

    def set_legato(self, on: bool) -> None:
        """Legato on (one line: see the module) or off (a voice per key); the keys held now
        become the line."""
        self.legato = bool(on)
        self._line = dict(self.held()) if self.legato else {}

    def _line_voice(self) -> int | None:
        """The voice that plays the legato line: the last gated one (None: no note gated)."""
        gated = np.flatnonzero(self.gated)
        return int(gated[np.argmax(self.started[gated])]) if len(gated) else None

    def _move(self, v: int, pitch: int, velocity: int) -> None:
        """Legato: voice `v` goes on to `pitch` without a new attack."""
        if self.pitch[v] != pitch:
            self.glide_from[v], self.moved[v] = self.pitch[v], True
        self.pitch[v], self.velocity[v], self.last_pitch = pitch, velocity, pitch
        self.key_down[v], self.sustained[v] = True, False

    def note_on(self, pitch: int, velocity: int = 100) -> int:
        """Gates `pitch` at `velocity`; returns the voice that plays it."""
        pitch, velocity = check_pitch(pitch), check_velocity(velocity)
        if self.legato:
            self._line.pop(pitch, None)
            self._line[pitch] = velocity
            v = self._line_voice()
            if v is not None:
                self._move(v, pitch, velocity)
                return v
        v = self._allocate(pitch)
        ringing = self.envelope[v] > 0 or self.gated[v]  # the same key again continues it
        if self.pitch[v] != pitch or not ringing:
            self.envelope[v], self.fresh[v] = 0.0, True
            self.glide_from[v] = self.last_pitch if self.last_pitch != pitch else -1
        self.last_pitch = pitch
        self.pitch[v], self.velocity[v] = pitch, velocity
        self.key_down[v], self.sustained[v] = True, False
        self._notes_on += 1
        self.started[v] = self._notes_on
        return v

    def note_off(self, pitch: int) -> None:
        """Releases `pitch` (or, while the pedal is down, sustains it); legato, the line goes
        back to the last key still on."""
        if self.legato:
            self._line.pop(pitch, None)
            v = self._line_voice()
            if self._line and v is not None and self.pitch[v] == pitch:
                self._move(v, *list(self._line.items())[-1])
                return
        for v in np.flatnonzero(self.key_down & (self.pitch == pitch)):
            self.key_down[v], self.sustained[v] = False, self.pedal

    def set_sustain(self, down: bool) -> None:
        """The sustain pedal: while down, released keys keep sounding; up releases them."""
        self.pedal = bool(down)
        if not self.pedal:
            self.sustained[:] = False

    def release_all(self) -> None:
        """All notes off (MIDI CC 123): every voice releases, the pedal's too."""
        self.key_down[:], self.sustained[:] = False, False
        self._line.clear()

    def silence(self) -> None:
        """All sound off (MIDI CC 120): every voice stops at the next hop."""
        self.key_down[:], self.sustained[:] = False, False
        self.envelope[:] = 0.0
        self._line.clear()

    def settle(self) -> list[int]:
        """Starts over with the gated notes only: they take voices 0, 1, ... in the order they
        were played, at full level, as fresh notes; every other voice is unused and silent.
        What the voices do next depends only on the notes gated now, not on earlier ones.
        Returns the voices they had: voice i is now what voice order[i] was."""
        order = [v for v in np.argsort(self.started) if self.gated[v]]
        notes = [(self.pitch[v], self.velocity[v], self.key_down[v]) for v in order]
        self.pitch[:], self.velocity[:], self.started[:] = -1, 0, 0
        self.key_down[:], self.sustained[:], self.envelope[:] = False, False, 0.0
        self.fresh[:], self.moved[:], self.glide_from[:] = False, False, -1
        self.last_pitch = int(notes[-1][0]) if notes else -1
        for v, (pitch, velocity, down) in enumerate(notes):
            self.pitch[v], self.velocity[v], self.started[v] = pitch, velocity, v + 1
            self.key_down[v], self.sustained[v] = down, not down
            self.envelope[v], self.fresh[v] = 1.0, True
        self._notes_on = len(notes)
        return order

    def held(self) -> tuple[tuple[int, int], ...]:
        """(pitch, velocity) of every gated voice, in the order they were played; legato, of
        every key on (the line's last one sounds)."""
        if self._line:
            return tuple(self._line.items())
        order = [v for v in np.argsort(self.started) if self.gated[v]]
        return tuple((int(self.pitch[v]), int(self.velocity[v])) for v in order)

    def step(self) -> tuple[np.ndarray, ...]:
        """Advances the envelopes one hop. Returns (voices sounding [k] int, their pitches [k],
        their amplitudes [k] (envelope x velocity gain), which of them start a note [k], which
        of them legato moved to a new key [k])."""
        gated = self.gated
        rate = np.where(gated, self.attack_rate, -self.release_rate)
        self.envelope = np.clip(self.envelope + rate, 0.0, 1.0)
        sounding = np.flatnonzero(self.envelope > 0)
        fresh, moved = self.fresh[sounding].copy(), self.moved[sounding] & ~self.fresh[sounding]
        self.fresh[sounding], self.moved[sounding] = False, False
        amplitude = self.envelope[sounding] * velocity_gain(self.velocity[sounding])
        return sounding, self.pitch[sounding].copy(), amplitude, fresh, moved
