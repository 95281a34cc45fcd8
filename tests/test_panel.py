"""The panel in a real Qt event loop (offscreen), driven like a player would."""

import time

import mido
import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from timbre_jax.analysis.embedding import encode_split
from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.synth import midi
from timbre_jax.synth.automation import read_automation
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.panel import NO_MIDI, SynthPanel
from timbre_jax.training.run import load_run

LEFT = QtCore.Qt.MouseButton.LeftButton
Key = QtCore.Qt.Key


@pytest.fixture(scope="module")
def model(skip_run):
    """The run and its training embedding, loaded once for the module's panels."""
    run = load_run(skip_run)
    emb = encode_split(run)
    return run, (emb["latents"], emb["note"])


def open_panel(qtbot, model, tmp_path, **kwargs) -> SynthPanel:
    run, embedding = model
    widget = SynthPanel(SynthEngine(run), run=run, low=[0, 0], high=[1, 1], embedding=embedding,
                        output=None, record_dir=tmp_path / "takes", **kwargs)  # fmt: skip
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def panel(qtbot, model, tmp_path):
    return open_panel(qtbot, model, tmp_path)


def peak(audio: np.ndarray) -> float:
    return float(np.max(np.abs(audio)))


def test_moving_a_slider_sets_the_latent(panel):
    panel.sliders[1].setValue(900)
    assert panel.engine.controls.latent[1] == pytest.approx(0.9)
    assert panel.target.pos().y() == pytest.approx(0.9)
    assert panel.slider_values[1].text() == "0.900" and panel.slider_values[0].text() == "0.500"
    panel.target.setPos(0.25, 0.125)  # the pad moves the sliders and their values
    assert [label.text() for label in panel.slider_values] == ["0.250", "0.125"]


def test_clicking_the_xy_pad_sets_the_latent(panel, qtbot):
    view = panel.pad.getViewBox()
    scene_point = view.mapViewToScene(QtCore.QPointF(0.25, 0.75))
    widget_point = panel.pad.mapFromScene(scene_point)
    qtbot.mouseClick(panel.pad.viewport(), LEFT, pos=widget_point)
    latent = panel.engine.controls.latent
    assert latent[0] == pytest.approx(0.25, abs=0.02) and latent[1] == pytest.approx(0.75, abs=0.02)
    assert panel.sliders[0].value() == pytest.approx(250, abs=20)


def test_the_pad_has_a_legend_of_the_twelve_note_colours(panel):
    assert [label.text for _, label in panel.legend.items] == list(NOTE_NAMES)
    brushes = [sample.item.opts["brush"].color().getRgb() for sample, _ in panel.legend.items]
    assert len(set(brushes)) == 12


def test_a_note_button_sounds_while_held(panel, qtbot):
    engine = panel.engine
    button = panel.note_buttons.button(4)
    qtbot.mousePress(button, LEFT)
    assert engine.controls.notes == ((64, 100),)  # E4, a note of the tiny corpus
    assert peak(engine.render(0.3)) > 0.01
    qtbot.mouseRelease(button, LEFT)
    assert engine.controls.notes == ()
    engine.render(engine.tail_seconds())
    assert peak(engine.render(0.2)) == 0.0


def test_phase_and_gain(panel):
    panel.phase.setCurrentText("rtpghi")
    assert panel.engine.phase == "rtpghi"
    panel.gain.setValue(30)
    assert panel.engine.controls.gain == pytest.approx(0.3)


def test_hold_latches_note_buttons_into_a_chord(panel, qtbot):
    engine = panel.engine
    qtbot.mouseClick(panel.hold, LEFT)
    for n in (0, 4, 7):  # C E G
        qtbot.mouseClick(panel.note_buttons.button(n), LEFT)
    assert engine.controls.notes == ((60, 100), (64, 100), (67, 100))
    qtbot.mouseClick(panel.note_buttons.button(4), LEFT)  # E off again
    assert engine.controls.notes == ((60, 100), (67, 100))
    qtbot.mouseClick(panel.hold, LEFT)  # hold off releases the rest
    assert engine.controls.notes == ()
    qtbot.mouseClick(panel.note_buttons.button(2), LEFT)  # momentary again
    assert engine.controls.notes == ()


def test_keys_play_a_chord_and_shift_the_octave(panel, qtbot):
    engine = panel.engine
    for key in (Key.Key_A, Key.Key_D, Key.Key_G):  # C4 E4 G4
        qtbot.keyPress(panel, key)
    assert engine.controls.notes == ((60, 100), (64, 100), (67, 100))
    repeat = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyRelease, Key.Key_A,
                             QtCore.Qt.KeyboardModifier.NoModifier, "a", True)  # fmt: skip
    QtWidgets.QApplication.sendEvent(panel, repeat)  # auto-repeat: the key is still down
    qtbot.keyRelease(panel, Key.Key_D)
    assert engine.controls.notes == ((60, 100), (67, 100))
    qtbot.keyPress(panel, Key.Key_X)  # octave up
    assert "C5-C6" in panel.octave.text()
    qtbot.keyPress(panel, Key.Key_K)  # C of the next octave: C6
    assert engine.controls.notes[-1] == (84, 100)
    qtbot.keyRelease(panel, Key.Key_A)  # stops the C4 it started, not C5
    qtbot.keyRelease(panel, Key.Key_G)
    qtbot.keyRelease(panel, Key.Key_K)
    assert engine.controls.notes == ()
    qtbot.mousePress(panel.note_buttons.button(0), LEFT)  # buttons follow the octave
    assert engine.controls.notes == ((72, 100),)
    qtbot.mouseRelease(panel.note_buttons.button(0), LEFT)


def test_keys_stop_when_the_panel_loses_the_focus(panel, qtbot):
    panel.activateWindow()
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus)
    qtbot.keyPress(panel, Key.Key_D)
    assert panel.engine.controls.notes == ((64, 100),)
    panel.clearFocus()  # its key release would go elsewhere
    assert panel.engine.controls.notes == ()


def test_redraw_shows_the_sound_and_follows_outside_changes(panel, qtbot):
    panel.engine.render(0.2)
    for pitch in (64, 67, 71):  # as MIDI would, from another thread
        panel.engine.note_on(pitch)
    panel.engine.render(0.1)
    qtbot.waitUntil(lambda: panel.curve.getData()[0] is not None)  # the QTimer redraws
    assert panel.lit == {4, 7, 11}
    buttons = panel.note_buttons.button
    assert buttons(4).styleSheet() and not buttons(5).styleSheet()  # lit in E's colour, F not
    assert panel.voices.text() == "voices 3/8: E4 G4 B4"
    x, y = panel.curve.getData()
    assert len(x) == 2048 and np.isfinite(y).all() and y.max() == 0.0
    assert "hop compute" in panel.readout.text() and "underruns 0" in panel.readout.text()
    assert not panel.play.isEnabled() and "no audio output" in panel.status.text()
    panel.engine.release_all()
    qtbot.wait(150)
    assert panel.lit == set() and not panel.note_buttons.button(4).styleSheet()


def test_offline_recording_writes_a_take(panel, qtbot, tmp_path):
    engine = panel.engine
    panel.record.setChecked(True)
    panel.sliders[0].setValue(100)
    qtbot.wait(300)
    qtbot.mousePress(panel.note_buttons.button(7), LEFT)
    qtbot.wait(300)
    panel.record.setChecked(False)  # renders the take offline on the engine
    rows = read_automation(tmp_path / "takes" / "take_1.csv", 2)
    assert rows[-1][1].notes == ((67, 100),) and rows[-1][0] >= 0.5
    assert rows[0][1].notes == () and rows[1][1].latent[0] == pytest.approx(0.1)
    import soundfile as sf

    audio, _ = sf.read(tmp_path / "takes" / "take_1.wav")
    assert len(audio) / engine.sample_rate == pytest.approx(
        rows[-1][0] + engine.tail_seconds(), abs=0.05
    )
    assert peak(audio[: engine.sample_rate // 4]) == 0.0 and peak(audio[-20000:]) > 0.01
    # the engine plays on as before the take: the held note, at the slider's latent
    assert engine.controls.notes == ((67, 100),) and engine.controls.latent[0] == pytest.approx(0.1)
    assert peak(engine.render(0.3)) > 0.01
    qtbot.mouseRelease(panel.note_buttons.button(7), LEFT)
    assert engine.controls.notes == ()


@pytest.mark.audio
def test_the_midi_combo_switches_ports(jack_server, qtbot, model, tmp_path):
    backend = midi.backend("UNIX_JACK")
    first = backend.open_output("timbre_jax_keys_1", virtual=True)
    second = None
    try:
        names = midi.input_names("UNIX_JACK")
        name_1 = next(n for n in names if "timbre_jax_keys_1" in n)
        widget = open_panel(qtbot, model, tmp_path, midi_port=name_1, midi_api="UNIX_JACK")
        engine = widget.engine
        assert widget.midi_ports.currentText() == name_1 and name_1 in widget.status.text()
        second = backend.open_output("timbre_jax_keys_2", virtual=True)
        items = [widget.midi_ports.itemText(i) for i in range(widget.midi_ports.count())]
        assert not any("timbre_jax_keys_2" in n for n in items)
        qtbot.mouseClick(widget.rescan, LEFT)
        items = [widget.midi_ports.itemText(i) for i in range(widget.midi_ports.count())]
        name_2 = next(n for n in items if "timbre_jax_keys_2" in n)
        assert items[0] == NO_MIDI and widget.midi_ports.currentText() == name_1  # kept open

        def arrives(sender, note) -> bool:
            sender.send(mido.Message("note_on", note=note, velocity=90))
            deadline = time.time() + 2
            while time.time() < deadline and (note, 90) not in engine.controls.notes:
                time.sleep(0.01)
            return (note, 90) in engine.controls.notes

        assert arrives(first, 60)
        widget.midi_ports.setCurrentText(name_2)  # as choosing it in the list does
        assert widget.midi_input.name == name_2 and name_2 in widget.status.text()
        assert arrives(second, 64) and not arrives(first, 67)  # the first port is closed
        widget.midi_ports.setCurrentText(NO_MIDI)
        assert widget.midi_input is None and not arrives(second, 67)
    finally:
        first.close()
        if second is not None:
            second.close()


@pytest.mark.audio
def test_the_synth_command_opens_and_plays(jack_server, skip_run, tmp_path):
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "timbre_jax.synth", "--workdir", str(skip_run), "--play",
               "--quit-after", "3", "--record-dir", str(tmp_path)]  # fmt: skip
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    played = float(run.stdout.split("played ")[1].split(" s")[0])
    assert played >= 2.0 and "0 underruns" in run.stdout


@pytest.mark.audio
def test_takes_while_playing_come_from_the_stream(jack_server, skip_run, qtbot, tmp_path,
                                                  monkeypatch):  # fmt: skip
    import soundfile as sf

    from timbre_jax.synth import panel
    from timbre_jax.synth.audio_out import AudioOutput

    def render_on_the_live_engine(*args):
        raise AssertionError("an offline render ran on the engine the stream plays")

    monkeypatch.setattr(panel, "render_automation", render_on_the_live_engine)

    run = load_run(skip_run)
    engine = SynthEngine(run)
    output = AudioOutput(engine, device=jack_server, block_size=256)
    widget = SynthPanel(engine, run=run, low=[0, 0], high=[1, 1], output=output,
                        record_dir=tmp_path)  # fmt: skip
    qtbot.addWidget(widget)
    widget.play.setChecked(True)
    widget.record.setChecked(True)
    widget.record.setChecked(False)  # shorter than a hop: at most a hop or two, not a render
    qtbot.wait(1000)
    widget.record.setChecked(True)
    qtbot.wait(1000)
    widget.record.setChecked(False)
    widget.play.setChecked(False)
    output.close()
    short, long = (sf.info(tmp_path / f"take_{n}.wav").duration for n in (1, 2))
    hop = engine.hop_length / engine.sample_rate
    assert short <= 2 * hop and long == pytest.approx(1.0, abs=0.1)
