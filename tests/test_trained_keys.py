"""Keys a model was never trained on are refused, never played silently as other notes: the
shipped C major model `one_octave` (chroma) has no black keys, nor had the note model
`five_octave` that `keys` replaced."""

import mido
import numpy as np
import pytest
import soundfile as sf

from timbre_jax.model.autoencoder import Autoencoder
from timbre_jax.model.run import Run, load_run, run_folder
from timbre_jax.render import main as render_main
from timbre_jax.synth import midi
from timbre_jax.synth.automation import write_automation
from timbre_jax.synth.engine import Controls
from timbre_jax.synth.keyboard import ComputerKeyboard, UntrainedKeys
from timbre_jax.synth.targets import ControlTargets

C_MAJOR = [0, 2, 4, 5, 7, 9, 11]


@pytest.fixture(scope="module")
def one_octave() -> Run:
    return load_run(run_folder(model="one_octave"))


def in_memory(conditioning: str, **meta) -> Run:
    """A run made in memory (no parameters: only what it says it was trained on is asked)."""
    return Run(None, Autoencoder(conditioning=conditioning), {}, meta)


def test_the_shipped_c_major_model_says_what_it_was_trained_on(one_octave):
    assert one_octave.trained_classes == tuple(C_MAJOR)
    assert one_octave.trained_notes == (60, 62, 64, 65, 67, 69, 71, 72)
    assert one_octave.untrained(range(60, 73)) == [61, 63, 66, 68, 70]


def test_a_c_major_note_model_refuses_black_keys_in_every_octave():
    notes = [n for n in range(36, 97) if n % 12 in C_MAJOR]  # as five_octave was trained
    run = in_memory("note", trained_classes=C_MAJOR, trained_notes=notes, note_range=[36, 96])
    assert run.untrained([25, 36, 37, 96, 108, 109]) == [25, 37, 109]  # folded
    assert run.never_trained(61) == (
        "model was never trained on C#4 (it was trained on C D E F G A B in C2-C7)"
    )


def test_a_chroma_model_plays_the_classes_it_was_trained_on():
    run = in_memory("chroma", trained_classes=[0, 4, 7], trained_notes=[60, 64, 67])
    assert run.untrained([24, 48, 61, 64, 79, 81, 127]) == [61, 81]  # any octave of C, E, G
    assert run.plays(36) and not run.plays(70)
    assert run.never_trained(61) == "model was never trained on C# (it was trained on C E G)"


def test_a_note_model_plays_a_key_if_the_note_it_folds_to_was_trained():
    run = in_memory("note", trained_classes=[0, 7], trained_notes=[48, 55, 60, 67, 72, 79],
                    note_range=[48, 79])  # fmt: skip
    # 36 -> C3, 84 -> C5, 91 -> G5 and 103 -> G5 were trained; C#3, D4 and 97 -> C#5 not
    assert run.untrained([36, 48, 49, 60, 62, 84, 91, 97, 103]) == [49, 62, 97]
    assert run.never_trained(97) == (
        "model was never trained on C#5 (it was trained on C3 G3 C4 G4 C5 G5)"
    )


@pytest.mark.parametrize("conditioning, meta", [
    ("chroma", {}), ("note", {"note_range": [48, 79]}),
    ("note", {"trained_notes": [60], "trained_classes": [0]}),  # no range: nothing folds
])  # fmt: skip
def test_runs_that_do_not_say_play_every_key(conditioning, meta):
    run = in_memory(conditioning, **meta)
    assert run.untrained(range(128)) == []
    run.check_trained([61], what="--note C#4")  # no error


def test_render_refuses_an_untrained_key_in_one_line(tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert render_main(["--model", "one_octave", "--note", "C#4", "--out", str(out)]) == 2
    message = "--note C#4: one_octave was never trained on C# (it was trained on C D E F G A B)"
    assert capsys.readouterr().err == f"error: {message}\n" and not out.exists()


def test_render_refuses_an_untrained_key_in_a_chord(tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert render_main(["--model", "one_octave", "--note", "C,Eb,G", "--out", str(out)]) == 2
    assert "--note C,Eb,G: one_octave was never trained on D# " in capsys.readouterr().err


def test_render_plays_a_trained_key(tmp_path):
    out = tmp_path / "d.wav"
    assert render_main(["--model", "one_octave", "--note", "D5", "--seconds", "0.5",
                        "--out", str(out)]) == 0  # fmt: skip
    audio, _ = sf.read(out)
    assert np.abs(audio).max() > 0.01


def test_render_refuses_an_automation_row_with_an_untrained_key(one_octave, tmp_path, capsys):
    rows = [(0.0, Controls((0.5, 0.5), 0.8, ((60, 100),))),
            (0.5, Controls((0.5, 0.5), 0.8, ((60, 100), (66, 90))))]  # fmt: skip
    write_automation(tmp_path / "take.csv", rows, 2)
    out = tmp_path / "x.wav"
    argv = ["--model", "one_octave", "--automation", str(tmp_path / "take.csv"), "--out", str(out)]
    assert render_main(argv) == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "line 3: one_octave was never trained on F# (it was trained on C D E F G A B)" in err


def test_midi_starts_no_voice_for_an_untrained_key_and_says_it_once(one_octave):
    keys = UntrainedKeys(one_octave)
    targets = ControlTargets([0.5, 0.5], 0.8, "noise", ["noise"], keys)
    controller = midi.MidiController(targets, [0, 0], [1, 1])
    for note in (61, 60, 61, 73):  # C#4, C4, C#4 again, C#5
        controller(mido.Message("note_on", note=note, velocity=100))
    assert targets.peek().notes == ((60, 100),)
    assert keys.news() == "C#4 C#5: not trained, not played"
    controller(mido.Message("note_on", note=61, velocity=100))
    assert keys.news() == "" and keys.said == [61, 73]  # said once
    plays_all = ControlTargets([0.5, 0.5], 0.8, "noise", ["noise"])  # every key sounds
    midi.MidiController(plays_all, [0, 0], [1, 1])(mido.Message("note_on", note=61, velocity=9))
    assert plays_all.peek().notes == ((61, 9),)


def test_the_computer_keyboard_plays_no_untrained_key(one_octave):
    keyboard = ComputerKeyboard(keys=UntrainedKeys(one_octave))
    assert keyboard.press("W") is None and keyboard.press("A") == 60  # C#4 refused, C4 plays
    assert keyboard.release("W") is None and keyboard.down == {"A": 60}
    assert keyboard.keys.news() == "C#4: not trained, not played"
    assert ComputerKeyboard().press("W") == 61


@pytest.mark.slow
def test_the_panel_greys_out_untrained_keys_and_says_each_once(one_octave, qtbot, tmp_path):
    from pyqtgraph.Qt import QtCore

    from timbre_jax.synth.engine import SynthEngine
    from timbre_jax.synth.panel import SynthPanel
    from timbre_jax.synth.session import Session

    session = Session(one_octave, SynthEngine(one_octave), record_dir=tmp_path)
    panel = SynthPanel(session, low=[0, 0], high=[1, 1])
    qtbot.addWidget(panel)
    buttons = [panel.note_buttons.button(n) for n in range(12)]
    assert [b.isEnabled() for b in buttons] == [n in C_MAJOR for n in range(12)]
    assert "never trained on C#" in buttons[1].toolTip() and not buttons[0].toolTip()
    qtbot.keyPress(panel, QtCore.Qt.Key.Key_X)  # an octave up: still no black keys
    assert not buttons[1].isEnabled() and buttons[2].isEnabled()
    qtbot.keyPress(panel, QtCore.Qt.Key.Key_W)  # C#5 on the computer keyboard
    midi.MidiController(session, panel.low, panel.high)(
        mido.Message("note_on", note=66, velocity=100)  # F#4 on MIDI
    )
    assert session.peek().notes == ()
    panel.redraw()
    assert panel.status.text() == "C#5 F#4: not trained, not played"
    panel.status.clear()
    qtbot.keyRelease(panel, QtCore.Qt.Key.Key_W)
    qtbot.keyPress(panel, QtCore.Qt.Key.Key_W)  # again: not said again
    panel.redraw()
    assert panel.status.text() == "" and session.peek().notes == ()
