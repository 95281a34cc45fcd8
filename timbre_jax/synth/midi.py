"""MIDI input (mido over python-rtmidi, ALSA or JACK): keys play notes, knobs move latents.

A note-on selects the note's pitch class and opens the gate (the engine's attack); releasing
the last held key closes it (release). Control change `CC_BASE + i` moves latent neuron i
across the span the model uses.
"""

from __future__ import annotations

import numpy as np

from timbre_jax.synth.engine import SynthEngine

CC_BASE = 20  # CC 20, 21, ... move latent neurons 0, 1, ... (undefined CCs in General MIDI)


class MidiController:
    """Turns MIDI messages into engine controls; callable with a `mido.Message`.

    Args:
      engine: the synth engine.
      low, high: [latent_dim] the latent span CC values 0..127 map onto.
    """

    def __init__(self, engine: SynthEngine, low, high):
        self.engine = engine
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        self.held: list[int] = []  # MIDI notes held, most recent last
        self.on_change = None  # called with no argument after each applied message (the UI)

    def __call__(self, message) -> None:
        if message.type == "note_on" and message.velocity > 0:
            self.held.append(message.note)
            self.engine.set_note(message.note % 12)
            self.engine.set_gate(True)
        elif message.type in ("note_off", "note_on"):
            if message.note in self.held:
                self.held.remove(message.note)
            if self.held:
                self.engine.set_note(self.held[-1] % 12)
            else:
                self.engine.set_gate(False)
        elif message.type == "control_change" and 0 <= message.control - CC_BASE < len(self.low):
            i = message.control - CC_BASE
            latent = list(self.engine.controls.latent)
            latent[i] = self.low[i] + message.value / 127 * (self.high[i] - self.low[i])
            self.engine.set_latent(latent)
        else:
            return
        if self.on_change is not None:
            self.on_change()


def input_names(api: str | None = None) -> list[str]:
    """MIDI input ports (empty when there is no MIDI system); api e.g. "UNIX_JACK"."""
    try:
        return backend(api).get_input_names()
    except Exception:  # no ALSA sequencer or JACK server, or no rtmidi
        return []


def backend(api: str | None = None):
    import mido

    return mido.Backend("mido.backends.rtmidi" + (f"/{api}" if api else ""))


def open_input(controller: MidiController, name: str, api: str | None = None):
    """Opens a MIDI input port whose messages go to `controller` (on rtmidi's thread)."""
    return backend(api).open_input(name, callback=controller)
