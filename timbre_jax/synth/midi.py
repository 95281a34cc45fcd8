"""MIDI input (mido over python-rtmidi, ALSA or JACK): keys play voices, knobs move latents.

A note-on plays its key at its velocity (`voices.velocity_gain`: the General MIDI curve) on a
voice of its own, a note-off releases it; the sustain pedal (CC 64, down at 64 or more) holds
released notes until it goes up; CC 120 (all sound off) stops every voice at once, CC 123
(all notes off) releases them. Control change `CC_BASE + i` moves latent neuron i across the
span the model uses. A key the model was never trained on starts no voice; it is said once
(`keyboard.UntrainedKeys`, which the panel reads).
"""

from __future__ import annotations

import numpy as np

from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.keyboard import UntrainedKeys

CC_BASE = 20  # CC 20, 21, ... move latent neurons 0, 1, ... (undefined CCs in General MIDI)
SUSTAIN, ALL_SOUND_OFF, ALL_NOTES_OFF = 64, 120, 123
THROUGH = "through"  # ports whose name has it only echo other ports: never chosen by default


class MidiController:
    """Turns MIDI messages into engine controls; callable with a `mido.Message`.

    Args:
      engine: the synth engine.
      low, high: [latent_dim] the latent span CC values 0..127 map onto.
      keys: the keys the model plays, refused keys said once (default: every key plays).
    """

    def __init__(self, engine: SynthEngine, low, high, keys: UntrainedKeys | None = None):
        self.engine = engine
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        self.keys = keys if keys is not None else UntrainedKeys()
        self.on_change = None  # called with no argument after each applied message (the UI)

    def __call__(self, message) -> None:
        if message.type == "note_on" and message.velocity > 0:
            if not self.keys.allows(message.note):
                return
            self.engine.note_on(message.note, message.velocity)
        elif message.type in ("note_off", "note_on"):
            self.engine.note_off(message.note)
        elif message.type == "control_change":
            if not self._control(message.control, message.value):
                return
        else:
            return
        if self.on_change is not None:
            self.on_change()

    def _control(self, control: int, value: int) -> bool:
        """Applies a control change; False if it means nothing here."""
        if control == SUSTAIN:
            self.engine.set_sustain(value >= 64)
        elif control == ALL_SOUND_OFF:
            self.engine.silence()
        elif control == ALL_NOTES_OFF:
            self.engine.release_all()
        elif 0 <= control - CC_BASE < len(self.low):
            i = control - CC_BASE
            latent = list(self.engine.controls.latent)
            latent[i] = self.low[i] + value / 127 * (self.high[i] - self.low[i])
            self.engine.set_latent(latent)
        else:
            return False
        return True


def input_names(api: str | None = None) -> list[str]:
    """MIDI input ports (empty when there is no MIDI system); api e.g. "UNIX_JACK"."""
    try:
        return backend(api).get_input_names()
    except Exception:  # no ALSA sequencer or JACK server, or no rtmidi
        return []


def choose_port(names: list[str], wanted: str | None = None) -> str | None:
    """The input to open: `wanted` as an index or (part of) a name; by default the first
    port that is not a "Through" port; None if there is none."""
    if wanted is None:
        return next((n for n in names if THROUGH not in n.lower()), None)
    if wanted.isdigit() and int(wanted) < len(names):
        return names[int(wanted)]
    matches = [n for n in names if wanted == n] or [n for n in names if wanted.lower() in n.lower()]
    if len(matches) != 1:
        listing = "; ".join(f"{i}: {n}" for i, n in enumerate(names)) or "none"
        found = "matches several" if matches else "not found"
        raise ParameterError(f"MIDI input {wanted!r} {found}; inputs: {listing}")
    return matches[0]


def backend(api: str | None = None):
    import mido

    return mido.Backend("mido.backends.rtmidi" + (f"/{api}" if api else ""))


def open_input(controller: MidiController, name: str, api: str | None = None):
    """Opens a MIDI input port whose messages go to `controller` (on rtmidi's thread)."""
    return backend(api).open_input(name, callback=controller)
