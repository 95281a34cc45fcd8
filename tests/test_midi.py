import time

import mido
import pytest

from timbre_jax.synth import midi
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.training.run import load_run


@pytest.fixture
def controller(skip_run):
    return midi.MidiController(SynthEngine(load_run(skip_run)), [0, 0], [1, 1])


def test_keys_choose_the_note_and_gate_the_sound(controller):
    engine = controller.engine
    controller(mido.Message("note_on", note=64, velocity=100))  # E4
    assert engine.controls.note == 4 and engine.controls.gate
    controller(mido.Message("note_on", note=67, velocity=100))  # G4 over it
    assert engine.controls.note == 7
    controller(mido.Message("note_off", note=67))
    assert engine.controls.note == 4 and engine.controls.gate  # back to the held E
    controller(mido.Message("note_on", note=64, velocity=0))  # note-off as velocity 0
    assert not engine.controls.gate


def test_control_changes_move_latent_neurons(controller):
    controller(mido.Message("control_change", control=midi.CC_BASE + 1, value=127))
    controller(mido.Message("control_change", control=midi.CC_BASE, value=0))
    assert controller.engine.controls.latent == (0.0, 1.0)
    controller(mido.Message("control_change", control=midi.CC_BASE + 2, value=64))  # no z2
    controller(mido.Message("pitchwheel", pitch=100))
    assert controller.engine.controls.latent == (0.0, 1.0)


@pytest.mark.audio
def test_messages_arrive_through_a_jack_midi_port(jack_server, controller):
    backend = midi.backend("UNIX_JACK")
    port = backend.open_input("timbre_jax_test", virtual=True, callback=controller)
    target = [n for n in backend.get_output_names() if "timbre_jax_test" in n][0]
    sender = backend.open_output(target)
    try:
        sender.send(mido.Message("note_on", note=69, velocity=90))
        sender.send(mido.Message("control_change", control=midi.CC_BASE, value=127))
        deadline = time.time() + 5
        while time.time() < deadline and controller.engine.controls.latent[0] != 1.0:
            time.sleep(0.01)
        assert controller.engine.controls.note == 9 and controller.engine.controls.latent[0] == 1.0
    finally:
        sender.close()
        port.close()


def test_a_missing_midi_port_is_named(skip_run, capsys):
    from timbre_jax.synth.__main__ import main

    assert main(["--workdir", str(skip_run), "--midi", "Nonexistent Keyboard"]) == 2
    assert "'Nonexistent Keyboard' not found" in capsys.readouterr().err
