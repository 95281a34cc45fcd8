"""What the player asks for: the target controls every source writes and the engine applies.

One method per control (a note on or off with its velocity, the sustain pedal, one latent
axis, the whole latent point, gain, phase method, pitch bend, vibrato depth and rate, glide,
legato, residual, per-note bend and latent, all notes off, all sound off). Each changes
only its own control under a lock, so two sources (say MIDI on one thread and OSC on another)
never undo each other's changes, and the last write to a control wins. The engine takes a
`snapshot` at the start of each hop and plays it (`automation.apply_controls`); live play and
`render --automation` of a take run that same code on the same snapshots.

Notes: the notes gated are the keys down and the keys released while the pedal was down, in
the order they were pressed. A key pressed and released between two snapshots still sounds:
the next snapshot has it too (after the gated ones), and the one after lets it go.
"""

from __future__ import annotations

import threading

import numpy as np

from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import (
    VIBRATO_HZ,
    Controls,
    check_bend,
    check_glide,
    check_residual,
    check_vibrato,
    check_vibrato_rate,
)
from timbre_jax.synth.harmonic_phase import RESIDUAL_DB
from timbre_jax.synth.keyboard import UntrainedKeys
from timbre_jax.synth.voices import check_pitch, check_velocity


class ControlTargets:
    """The controls as the sources set them, safe to write from any thread.

    Args:
      latent: [d] the starting latent point.
      gain: the starting gain, 0..1.
      phase: the starting phase method.
      phase_methods: the methods `set_phase` accepts.
      keys: which keys sound (`UntrainedKeys`: others are refused and said once).
    """

    def __init__(self, latent, gain: float, phase: str, phase_methods,
                 keys: UntrainedKeys | None = None):  # fmt: skip
        self.latent_dim, self.phase_methods = len(latent), tuple(phase_methods)
        self.keys = keys if keys is not None else UntrainedKeys()
        self._lock = threading.Lock()
        self._latent = [float(v) for v in latent]
        self._gain, self._phase = float(gain), phase
        self._gated: dict[int, int] = {}  # pitch -> velocity of every gated note, in press order
        self._down: set[int] = set()  # keys held (the others gated are sustained)
        self._pedal = False
        self._new: set[int] = set()  # pressed since the last snapshot
        self._unheard: dict[int, int] = {}  # of those, released already: in the next snapshot
        self._cut = False  # all sound off asked since the last snapshot
        self._bend, self._vibrato, self._vibrato_hz = 0.0, 0.0, VIBRATO_HZ  # semitones, cents
        self._glide = 0.0  # seconds
        self._legato = False
        self._residual = RESIDUAL_DB  # dB between the harmonics (harmonic phase)
        # pitch -> (its own bend, its own latent point or ()) of gated notes that have any
        self._expression: dict[int, tuple[float, tuple[float, ...]]] = {}
        self.version = 0  # counts the changes, for views that redraw on change

    def _changed(self) -> None:
        """Called after each change, outside the lock (a session records offline takes)."""

    def _assign(self, **fields) -> None:
        """Sets `_name` to each value under the lock: one change, then `_changed`."""
        with self._lock:
            for name, value in fields.items():
                setattr(self, f"_{name}", value)
            self.version += 1
        self._changed()

    def _release(self, pitch: int) -> None:
        """A key goes up (lock held): the note stops, or is held while the pedal is down."""
        self._down.discard(pitch)
        if not self._pedal:
            self._gated.pop(pitch, None)

    def note_on(self, pitch: int, velocity: int = 100) -> bool:
        """Gates MIDI `pitch` at `velocity`; False (and said once) if the model was never
        trained on it."""
        pitch, velocity = check_pitch(pitch), check_velocity(velocity)
        if not self.keys.allows(pitch):
            return False
        with self._lock:
            self._gated.pop(pitch, None)  # pressed again: it moves to the end of the order
            self._gated[pitch] = velocity
            self._expression.pop(pitch, None)  # a new note starts with the channel's
            self._down.add(pitch)
            self._new.add(pitch)
            self._unheard.pop(pitch, None)
            self.version += 1
        self._changed()
        return True

    def note_off(self, pitch: int) -> None:
        pitch = check_pitch(pitch)
        with self._lock:
            if pitch not in self._down:
                return
            if pitch in self._new:
                self._unheard[pitch] = self._gated[pitch]  # not heard yet: the next hop plays it
            self._release(pitch)
            self.version += 1
        self._changed()

    def set_sustain(self, down: bool) -> None:
        """The sustain pedal: while down, released keys keep sounding; up releases them."""
        with self._lock:
            self._pedal = bool(down)
            if not self._pedal:
                self._gated = {p: v for p, v in self._gated.items() if p in self._down}
            self.version += 1
        self._changed()

    def set_axis(self, axis: int, value: float) -> None:
        """Latent neuron `axis` (0-based) to `value` (the model's units); the others stay."""
        if not 0 <= axis < self.latent_dim:
            raise ParameterError(f"latent axis must be 0-{self.latent_dim - 1}, got {axis!r}")
        if not np.isfinite(value):
            raise ParameterError(f"latent z{axis} must be finite, got {value!r}")
        with self._lock:
            self._latent[axis] = float(value)
            self.version += 1
        self._changed()

    def set_latent(self, values) -> None:
        """The whole latent point [latent_dim]."""
        values = [float(v) for v in values]
        if len(values) != self.latent_dim or not np.all(np.isfinite(values)):
            raise ParameterError(f"latent needs {self.latent_dim} finite values, got {values!r}")
        self._assign(latent=values)

    def set_gain(self, gain: float) -> None:
        if not 0.0 <= gain <= 1.0:
            raise ParameterError(f"gain must be in [0, 1], got {gain!r}")
        self._assign(gain=float(gain))

    def set_phase(self, method: str) -> None:
        if method not in self.phase_methods:
            raise ParameterError(f"phase must be one of {self.phase_methods}, got {method!r}")
        self._assign(phase=method)

    def set_bend(self, semitones: float) -> None:
        """Bends every voice by `semitones` (the pitch wheel's reach times its position)."""
        self._assign(bend=check_bend(semitones))

    def set_vibrato(self, cents: float) -> None:
        """Vibrato depth in cents (the mod wheel)."""
        self._assign(vibrato=check_vibrato(cents))

    def set_vibrato_rate(self, hz: float) -> None:
        self._assign(vibrato_hz=check_vibrato_rate(hz))

    def set_residual(self, db: float) -> None:
        """dB between the harmonics under the harmonic phase (0: all the decoded timbre)."""
        self._assign(residual=check_residual(db))

    def set_glide(self, seconds: float) -> None:
        """Portamento: seconds a new note takes to slide from the note played before it."""
        self._assign(glide=check_glide(seconds))

    def set_legato(self, on: bool) -> None:
        """One line of notes: a key pressed while one is held moves that note to it."""
        self._assign(legato=bool(on))

    def all_notes_off(self, *, cut: bool = False) -> None:
        """Every note releases (MIDI CC 123), the pedal's too; with `cut`, every note stops at
        once instead (all sound off, MIDI CC 120)."""
        with self._lock:
            self._gated.clear()
            self._down.clear()
            self._new.clear()
            self._unheard.clear()
            self._cut = self._cut or cut
            self.version += 1
        self._changed()

    def all_sound_off(self) -> None:
        """Every note stops at once (MIDI CC 120), not through its release."""
        self.all_notes_off(cut=True)

    def set_note_bend(self, pitch: int, semitones: float) -> None:
        """The gated note `pitch`'s own bend, on top of the channel's (MPE: its channel's
        pitch wheel); nothing if it is not gated."""
        semitones = check_bend(semitones)
        with self._lock:
            if pitch in self._gated:
                _, latent = self._expression.get(pitch, (0.0, ()))
                self._expression[pitch] = (semitones, latent)
                self.version += 1
        self._changed()

    def clear_note_expression(self, pitch: int) -> None:
        """The gated note `pitch` follows the channel again: no bend or latent point of its
        own."""
        with self._lock:
            if self._expression.pop(pitch, None) is not None:
                self.version += 1
        self._changed()

    def set_note_axis(self, pitch: int, axis: int, value: float) -> None:
        """Latent neuron `axis` of the gated note `pitch`'s own latent point (which starts as
        the channel's); nothing if it is not gated. Two held notes so sound two timbres."""
        if not 0 <= axis < self.latent_dim:
            raise ParameterError(f"latent axis must be 0-{self.latent_dim - 1}, got {axis!r}")
        if not np.isfinite(value):
            raise ParameterError(f"latent z{axis} must be finite, got {value!r}")
        with self._lock:
            if pitch in self._gated:
                bend, latent = self._expression.get(pitch, (0.0, ()))
                point = list(latent or self._latent)
                point[axis] = float(value)
                self._expression[pitch] = (bend, tuple(point))
                self.version += 1
        self._changed()

    def _controls(self, notes, cut: bool) -> Controls:
        """The targets with `notes` (lock held)."""
        expression = tuple((p, *self._expression[p]) for p, _ in notes if p in self._expression)
        return Controls(tuple(self._latent), self._gain, notes, self._phase, cut, self._bend,
                        self._vibrato, self._vibrato_hz, self._glide, expression,
                        self._residual, self._legato)  # fmt: skip

    def peek(self) -> Controls:
        """The targets now, changing nothing."""
        with self._lock:
            return self._controls(tuple(self._gated.items()), False)

    def snapshot(self) -> Controls:
        """The targets for the next hop: with the keys pressed and released since the last
        snapshot, and `cut` if all sound off was asked since then."""
        with self._lock:
            unheard = [(p, v) for p, v in self._unheard.items() if p not in self._gated]
            notes = tuple(self._gated.items()) + tuple(unheard)
            controls = self._controls(notes, self._cut)
            self._expression = {p: e for p, e in self._expression.items() if p in self._gated}
            self._cut = False
            self._new.clear()
            self._unheard.clear()
        return controls
