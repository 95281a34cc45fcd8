"""The panel in a real Qt event loop (offscreen), driven like a player would."""

import time

import mido
import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from tests.helpers import gaps_to_full_lead
from timbre_jax.analysis.embedding import encode_split
from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.model.run import load_run
from timbre_jax.synth import midi
from timbre_jax.synth.automation import read_automation
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.panel import NO_MIDI, SynthPanel
from timbre_jax.synth.session import Session

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
    session = Session(run, SynthEngine(run), record_dir=tmp_path / "takes")
    widget = SynthPanel(session, low=[0, 0], high=[1, 1], embedding=embedding, **kwargs)
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
    assert panel.session.peek().latent[1] == pytest.approx(0.9)
    assert panel.pad.target.pos().y() == pytest.approx(0.9)
    assert panel.slider_values[1].text() == "0.900" and panel.slider_values[0].text() == "0.500"
    panel.pad.target.setPos(0.25, 0.125)  # the pad moves the sliders and their values
    assert [label.text() for label in panel.slider_values] == ["0.250", "0.125"]


def test_clicking_the_xy_pad_sets_the_latent(panel, qtbot):
    view = panel.pad.getViewBox()
    scene_point = view.mapViewToScene(QtCore.QPointF(0.25, 0.75))
    widget_point = panel.pad.mapFromScene(scene_point)
    qtbot.mouseClick(panel.pad.viewport(), LEFT, pos=widget_point)
    latent = panel.session.peek().latent
    assert latent[0] == pytest.approx(0.25, abs=0.02) and latent[1] == pytest.approx(0.75, abs=0.02)
    assert panel.sliders[0].value() == pytest.approx(250, abs=20)


def test_the_pad_shows_each_note_that_plays_its_own_point(panel):
    session = panel.session
    for pitch in (60, 64):
        session.note_on(pitch)
    session.set_note_axis(60, 0, 0.2)  # MPE: C4's own point moves right, E4's up
    session.set_note_axis(64, 1, 0.9)
    panel.redraw()
    x, y = panel.pad.notes.getData()
    assert sorted(zip(x.tolist(), y.tolist(), strict=True)) == [(0.2, 0.5), (0.5, 0.9)]
    session.all_notes_off()
    panel.redraw()
    assert len(panel.pad.notes.getData()[0]) == 0


def test_the_pad_has_a_legend_of_the_twelve_note_colours(panel):
    assert [label.text for _, label in panel.pad.legend.items] == list(NOTE_NAMES)
    brushes = [sample.item.opts["brush"].color().getRgb() for sample, _ in panel.pad.legend.items]
    assert len(set(brushes)) == 12


def test_a_note_button_sounds_while_held(panel, qtbot):
    engine, session = panel.engine, panel.session
    button = panel.note_buttons.button(4)
    qtbot.mousePress(button, LEFT)
    assert session.peek().notes == ((64, 100),)  # E4, a note of the tiny corpus
    assert peak(session.render(0.3)) > 0.01
    qtbot.mouseRelease(button, LEFT)
    assert session.peek().notes == ()
    session.render(engine.tail_seconds())
    assert peak(session.render(0.2)) == 0.0


def test_phase_and_gain(panel):
    panel.phase.setCurrentText("rtpghi")
    assert panel.session.peek().phase == "rtpghi"
    panel.gain.setValue(30)
    assert panel.session.peek().gain == pytest.approx(0.3)


def test_hold_latches_note_buttons_into_a_chord(panel, qtbot):
    session = panel.session
    qtbot.mouseClick(panel.hold, LEFT)
    for n in (0, 4, 7):  # C E G
        qtbot.mouseClick(panel.note_buttons.button(n), LEFT)
    assert session.peek().notes == ((60, 100), (64, 100), (67, 100))
    qtbot.mouseClick(panel.note_buttons.button(4), LEFT)  # E off again
    assert session.peek().notes == ((60, 100), (67, 100))
    qtbot.mouseClick(panel.hold, LEFT)  # hold off releases the rest
    assert session.peek().notes == ()
    qtbot.mouseClick(panel.note_buttons.button(2), LEFT)  # momentary again
    assert session.peek().notes == ()


def test_keys_play_a_chord_and_shift_the_octave(panel, qtbot):
    session = panel.session
    for key in (Key.Key_A, Key.Key_D, Key.Key_G):  # C4 E4 G4
        qtbot.keyPress(panel, key)
    assert session.peek().notes == ((60, 100), (64, 100), (67, 100))
    repeat = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyRelease, Key.Key_A,
                             QtCore.Qt.KeyboardModifier.NoModifier, "a", True)  # fmt: skip
    QtWidgets.QApplication.sendEvent(panel, repeat)  # auto-repeat: the key is still down
    qtbot.keyRelease(panel, Key.Key_D)
    assert session.peek().notes == ((60, 100), (67, 100))
    qtbot.keyPress(panel, Key.Key_X)  # octave up
    assert "C5-C6" in panel.octave.text()
    qtbot.keyPress(panel, Key.Key_K)  # C of the next octave: C6
    assert session.peek().notes[-1] == (84, 100)
    qtbot.keyRelease(panel, Key.Key_A)  # stops the C4 it started, not C5
    qtbot.keyRelease(panel, Key.Key_G)
    qtbot.keyRelease(panel, Key.Key_K)
    assert session.peek().notes == ()
    qtbot.mousePress(panel.note_buttons.button(0), LEFT)  # buttons follow the octave
    assert session.peek().notes == ((72, 100),)
    qtbot.mouseRelease(panel.note_buttons.button(0), LEFT)


def test_keys_stop_when_the_panel_loses_the_focus(panel, qtbot):
    panel.activateWindow()
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus)
    qtbot.keyPress(panel, Key.Key_D)
    assert panel.session.peek().notes == ((64, 100),)
    panel.clearFocus()  # its key release would go elsewhere
    assert panel.session.peek().notes == ()


def test_redraw_shows_the_sound_and_follows_outside_changes(panel, qtbot):
    panel.session.render(0.2)
    for pitch in (60, 64, 67):  # as MIDI would, from another thread
        panel.session.note_on(pitch)
    panel.session.render(0.1)
    qtbot.waitUntil(lambda: panel.curve.getData()[0] is not None)  # the QTimer redraws
    assert panel.lit == {0, 4, 7}
    buttons = panel.note_buttons.button
    assert buttons(4).styleSheet() and not buttons(5).styleSheet()  # lit in E's colour, F not
    assert panel.voices.text() == "voices 3/8: C4 E4 G4"
    x, y = panel.curve.getData()
    assert len(x) == 2048 and np.isfinite(y).all() and y.max() == 0.0
    assert (
        panel.readout.text().startswith("voices 3/8  hop ") and "ms median" in panel.readout.text()
    )
    assert not panel.play.isEnabled() and "no audio output" in panel.status.text()
    panel.session.all_notes_off()
    qtbot.wait(150)
    assert panel.lit == set() and not panel.note_buttons.button(4).styleSheet()


def test_offline_recording_writes_a_take(panel, qtbot, tmp_path):
    engine, session = panel.engine, panel.session
    panel.record.setChecked(True)
    panel.sliders[0].setValue(100)
    qtbot.wait(300)
    qtbot.mousePress(panel.note_buttons.button(7), LEFT)
    qtbot.wait(300)
    panel.record.setChecked(False)  # a worker renders the take offline on an engine of its own
    qtbot.waitUntil(lambda: "recorded" in panel.status.text(), timeout=10000)
    assert "take_1.wav" in panel.status.text()
    rows, _ = read_automation(tmp_path / "takes" / "take_1.csv", 2)
    assert rows[-1][1].notes == ((67, 100),) and rows[-1][0] >= 0.5
    assert rows[0][1].notes == () and rows[1][1].latent[0] == pytest.approx(0.1)
    import soundfile as sf

    audio, _ = sf.read(tmp_path / "takes" / "take_1.wav")
    assert len(audio) / engine.sample_rate == pytest.approx(
        rows[-1][0] + engine.tail_seconds(), abs=0.05
    )
    assert peak(audio[: engine.sample_rate // 4]) == 0.0 and peak(audio[-20000:]) > 0.01
    # the engine plays on as before the take: the held note, at the slider's latent
    assert session.peek().notes == ((67, 100),) and session.peek().latent[0] == pytest.approx(0.1)
    assert peak(session.render(0.3)) > 0.01
    qtbot.mouseRelease(panel.note_buttons.button(7), LEFT)
    assert session.peek().notes == ()


@pytest.mark.audio
def test_the_midi_combo_switches_ports(jack_server, qtbot, model, tmp_path):
    backend = midi.backend("UNIX_JACK")
    first = backend.open_output("timbre_jax_keys_1", virtual=True)
    second = None
    try:
        names = midi.input_names("UNIX_JACK")
        name_1 = next(n for n in names if "timbre_jax_keys_1" in n)
        widget = open_panel(qtbot, model, tmp_path, midi_port=name_1, midi_api="UNIX_JACK")
        session = widget.session
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
            while time.time() < deadline and (note, 90) not in session.peek().notes:
                time.sleep(0.01)
            return (note, 90) in session.peek().notes

        assert arrives(first, 60)
        widget.midi_ports.setCurrentText(name_2)  # as choosing it in the list does
        assert session.midi_input.name == name_2 and name_2 in widget.status.text()
        assert arrives(second, 64) and not arrives(first, 67)  # the first port is closed
        widget.midi_ports.setCurrentText(NO_MIDI)
        assert session.midi_input is None and not arrives(second, 67)
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
    underruns = int(run.stdout.split("underruns: ring ")[1].split(",")[0])
    assert played >= 2.0 and underruns <= gaps_to_full_lead(), run.stdout


@pytest.mark.audio
def test_the_panel_opens_its_midi_input_only_when_it_is_ready_to_sound(jack_server):
    """A note sent as soon as the synth's MIDI port appears sounds at once: the port opens
    after the panel's first paint, as the sound starts (it opened 1.4 s before `ready`)."""
    import subprocess
    import sys
    import threading

    from tests.support.jack import KEYBOARD, open_keyboard, ports

    command = [sys.executable, "-m", "timbre_jax.synth", "--model", "violin", "--play",
               "--midi-api", "UNIX_JACK", "--midi-port", KEYBOARD, "--quit-after", "8"]  # fmt: skip
    ready = []
    with open_keyboard():
        synth = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)  # fmt: skip

        def read() -> None:
            for line in synth.stdout:
                if line.startswith("ready in"):
                    ready.append(time.monotonic())

        threading.Thread(target=read, daemon=True).start()
        appeared = None
        while appeared is None and synth.poll() is None:
            if any(p.startswith("RtMidiIn") for p in ports()):
                appeared = time.monotonic()
            time.sleep(0.02)
        synth.wait(timeout=60)
    assert appeared is not None and ready, "no MIDI port or no ready line"
    assert ready[0] - appeared < 0.5, ready[0] - appeared


@pytest.mark.audio
def test_takes_while_playing_come_from_the_stream_and_replay_exactly(jack_server, skip_run, qtbot,
                                                                      tmp_path):  # fmt: skip
    import soundfile as sf

    from timbre_jax.render import main as render_main

    run = load_run(skip_run)
    session = Session(run, SynthEngine(run), record_dir=tmp_path)
    session.open_output(device=jack_server, block_size=256)
    (tmp_path / "take_7.wav").write_bytes(b"a take of an earlier session")
    widget = SynthPanel(session, low=[0, 0], high=[1, 1])
    qtbot.addWidget(widget)
    widget.play.setChecked(True)
    widget.record.setChecked(True)
    qtbot.mousePress(widget.note_buttons.button(4), LEFT)
    qtbot.wait(400)
    widget.sliders[0].setValue(200)
    widget.phase.setCurrentText("rtpghi")
    qtbot.wait(400)
    qtbot.mouseRelease(widget.note_buttons.button(4), LEFT)
    qtbot.wait(200)
    widget.record.setChecked(False)
    qtbot.waitUntil(lambda: "recorded" in widget.status.text(), timeout=5000)
    widget.play.setChecked(False)
    session.close()
    assert (tmp_path / "take_7.wav").read_bytes() == b"a take of an earlier session"
    take, rate = sf.read(tmp_path / "take_8.wav", dtype="float32")
    # the stream's, not a render: about the 1 s it was recorded for, less the time the dummy
    # driver drops when the host wakes it late (0.84 s once on a noisy host)
    assert 0.6 <= len(take) / rate <= 1.15
    rows, voices = read_automation(tmp_path / "take_8.csv", 2)
    assert [c.phase for _, c in rows][-1] == "rtpghi" and rows[1][1].notes == ((64, 100),)
    out = tmp_path / "replay.wav"
    argv = ["--workdir", str(skip_run), "--automation", str(tmp_path / "take_8.csv")]
    assert render_main([*argv, "--out", str(out)]) == 0
    replay, _ = sf.read(out, dtype="float32")
    np.testing.assert_array_equal(replay[: len(take)], take)  # sample for sample


def test_midi_learn_from_the_panel_moves_the_chosen_axis(panel, qtbot):
    qtbot.mouseClick(panel.learn[1], LEFT)
    assert panel.controller.learning == 1
    panel.controller(mido.Message("control_change", control=7, value=127))  # as MIDI would
    qtbot.waitUntil(lambda: not panel.learn[1].isChecked())  # the redraw timer lets it go
    assert panel.status.text() == "z1: MIDI CC 7"
    assert panel.slider_values[1].text() == "1.000" and panel.slider_values[0].text() == "0.500"
    panel.controller(mido.Message("control_change", control=7, value=0))
    assert panel.session.peek().latent == (0.5, 0.0)
