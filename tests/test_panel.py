"""The panel in a real Qt event loop (offscreen), driven like a player would."""

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore

from timbre_jax.analysis.embedding import encode_split
from timbre_jax.synth.automation import read_automation
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.panel import SynthPanel
from timbre_jax.training.run import load_run


@pytest.fixture
def panel(qtbot, skip_run, tmp_path):
    run = load_run(skip_run)
    engine = SynthEngine(run)
    emb = encode_split(run)
    widget = SynthPanel(engine, run=run, low=[0, 0], high=[1, 1],
                        embedding=(emb["latents"], emb["note"]), output=None,
                        record_dir=tmp_path / "takes")  # fmt: skip
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_moving_a_slider_sets_the_latent(panel):
    panel.sliders[1].setValue(900)
    assert panel.engine.controls.latent[1] == pytest.approx(0.9)
    assert panel.target.pos().y() == pytest.approx(0.9)


def test_clicking_the_xy_pad_sets_the_latent(panel, qtbot):
    view = panel.pad.getViewBox()
    scene_point = view.mapViewToScene(QtCore.QPointF(0.25, 0.75))
    widget_point = panel.pad.mapFromScene(scene_point)
    qtbot.mouseClick(panel.pad.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_point)
    latent = panel.engine.controls.latent
    assert latent[0] == pytest.approx(0.25, abs=0.02) and latent[1] == pytest.approx(0.75, abs=0.02)
    assert panel.sliders[0].value() == pytest.approx(250, abs=20)


def test_note_buttons_phase_and_gain(panel, qtbot):
    qtbot.mouseClick(panel.note_buttons.button(9), QtCore.Qt.MouseButton.LeftButton)
    assert panel.engine.controls.note == 9 and panel.engine.controls.gate
    panel.phase.setCurrentText("rtpghi")
    assert panel.engine.phase == "rtpghi"
    panel.gain.setValue(30)
    assert panel.engine.controls.gain == pytest.approx(0.3)


def test_redraw_shows_the_sound_and_follows_outside_changes(panel, qtbot):
    panel.engine.render(0.2)
    panel.engine.set_note(4)  # as MIDI would, from another thread
    qtbot.wait(150)  # a few QTimer redraws
    assert panel.note_buttons.checkedId() == 4
    x, y = panel.curve.getData()
    assert len(x) == 2048 and np.isfinite(y).all()
    assert "hop compute" in panel.readout.text() and "underruns 0" in panel.readout.text()
    assert not panel.play.isEnabled() and "no audio output" in panel.status.text()


def test_offline_recording_writes_a_take(panel, qtbot, tmp_path):
    panel.record.setChecked(True)
    panel.sliders[0].setValue(100)
    qtbot.wait(300)
    qtbot.mouseClick(panel.note_buttons.button(7), QtCore.Qt.MouseButton.LeftButton)
    qtbot.wait(300)
    panel.record.setChecked(False)
    rows = read_automation(tmp_path / "takes" / "take_1.csv", 2)
    assert rows[-1][1].note == 7 and rows[-1][0] >= 0.5
    import soundfile as sf

    info = sf.info(tmp_path / "takes" / "take_1.wav")
    assert info.duration == pytest.approx(rows[-1][0], abs=0.05)


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
