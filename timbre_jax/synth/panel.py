"""The PyQtGraph panel: sliders, an XY pad, note buttons and live views over a `SynthEngine`.

The only Qt code of the package. Controls write the engine's targets; a QTimer redraws the
spectrum, the level meter and the timing readout from what the engine last produced.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.synth.automation import render_automation, write_automation
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.phase import PHASE_METHODS
from timbre_jax.training.run import Run

SLIDER_STEPS = 1000
REDRAW_MS = 50


class SynthPanel(QtWidgets.QWidget):
    """Args:
    engine: the engine to play.
    run: the model the engine plays (for its name and description).
    low, high: [latent_dim] span of the sliders and pad.
    embedding: optional (latents [N, d], notes [N]) shown on the XY pad.
    output: an `AudioOutput`, or None when there is no audio device.
    record_dir: where Record writes take_N.wav and take_N.csv.
    """

    def __init__(self, engine: SynthEngine, *, run: Run, low, high, embedding=None, output=None,
                 record_dir="."):  # fmt: skip
        super().__init__()
        self.engine, self.output = engine, output
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        self.record_dir = Path(record_dir)
        self.recording: list | None = None  # (seconds, controls) rows while recording
        self.record_started = 0.0
        self.takes = 0
        self.setWindowTitle(f"timbre_jax: {run.name}")
        layout = QtWidgets.QHBoxLayout(self)
        controls = QtWidgets.QVBoxLayout()
        layout.addLayout(controls, 1)
        controls.addWidget(QtWidgets.QLabel(describe(run)))
        self.sliders = []
        for i in range(engine.latent_dim):
            slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            slider.setRange(0, SLIDER_STEPS)
            slider.valueChanged.connect(self._sliders_moved)
            row = QtWidgets.QHBoxLayout()
            row.addWidget(QtWidgets.QLabel(f"z{i}"))
            row.addWidget(slider)
            controls.addLayout(row)
            self.sliders.append(slider)
        self.pad = self._make_pad(embedding) if engine.latent_dim == 2 else None
        if self.pad is not None:
            controls.addWidget(self.pad, 3)
        notes = QtWidgets.QGridLayout()
        self.note_buttons = QtWidgets.QButtonGroup(self)
        for n, name in enumerate(NOTE_NAMES):
            button = QtWidgets.QPushButton(name)
            button.setCheckable(True)
            self.note_buttons.addButton(button, n)
            notes.addWidget(button, n // 6, n % 6)
        self.note_buttons.idClicked.connect(self._note_clicked)
        controls.addLayout(notes)
        row = QtWidgets.QHBoxLayout()
        self.phase = QtWidgets.QComboBox()
        self.phase.addItems(PHASE_METHODS)
        self.phase.setCurrentText(engine.phase)
        self.phase.currentTextChanged.connect(engine.set_phase)
        self.gain = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.gain.setRange(0, 100)
        self.gain.setValue(round(100 * engine.controls.gain))
        self.gain.valueChanged.connect(lambda v: self._set(self.engine.set_gain, v / 100))
        for widget in (QtWidgets.QLabel("phase"), self.phase, QtWidgets.QLabel("gain"), self.gain):
            row.addWidget(widget)
        controls.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        self.play = QtWidgets.QPushButton("Start")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._play_toggled)
        self.record = QtWidgets.QPushButton("Record")
        self.record.setCheckable(True)
        self.record.toggled.connect(self._record_toggled)
        row.addWidget(self.play)
        row.addWidget(self.record)
        controls.addLayout(row)
        self.status = QtWidgets.QLabel()
        controls.addWidget(self.status)
        if output is None:
            self.play.setEnabled(False)
            self.status.setText("no audio output device: Record renders takes offline")
        views = QtWidgets.QVBoxLayout()
        layout.addLayout(views, 2)
        self.spectrum = pg.PlotWidget(title="decoded magnitude (dB)")
        self.spectrum.setLogMode(x=True, y=False)
        self.spectrum.setYRange(-80, 0)
        self.spectrum.setLabel("bottom", "frequency", units="Hz")
        self.curve = self.spectrum.plot(pen="y")
        self.freqs = np.arange(1, engine.n_fft // 2 + 1) * engine.sample_rate / engine.n_fft
        views.addWidget(self.spectrum, 3)
        self.meter = QtWidgets.QProgressBar()
        self.meter.setRange(-60, 0)
        self.meter.setFormat("level %v dB")
        views.addWidget(self.meter)
        self.readout = QtWidgets.QLabel()
        views.addWidget(self.readout)
        self.show_controls()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.redraw)
        self.timer.start(REDRAW_MS)

    def _make_pad(self, embedding):
        pad = pg.PlotWidget(title="latent pad: click or drag")
        pad.setRange(xRange=(self.low[0], self.high[0]), yRange=(self.low[1], self.high[1]))
        pad.setMouseEnabled(x=False, y=False)
        if embedding is not None:
            latents, notes = embedding
            brushes = [pg.mkBrush(*rgba) for rgba in note_colors()]
            pad.addItem(pg.ScatterPlotItem(latents[:, 0], latents[:, 1], size=3, pen=None,
                                           brush=[brushes[n] for n in notes]))  # fmt: skip
        self.target = pg.TargetItem(movable=True)
        self.target.sigPositionChanged.connect(self._target_moved)
        pad.addItem(self.target)
        pad.scene().sigMouseClicked.connect(self._pad_clicked)
        return pad

    # control -> engine
    def _set(self, setter, value) -> None:
        setter(value)
        if self.recording is not None:
            self.recording.append((time.perf_counter() - self.record_started, self.engine.controls))

    def _slider_value(self, i: int) -> float:
        return self.low[i] + self.sliders[i].value() / SLIDER_STEPS * (self.high[i] - self.low[i])

    def _sliders_moved(self) -> None:
        if not self._updating:
            self._set(
                self.engine.set_latent, [self._slider_value(i) for i in range(len(self.sliders))]
            )
            self.show_controls()

    def _target_moved(self) -> None:
        if not self._updating:
            pos = self.target.pos()
            x = float(np.clip(pos.x(), self.low[0], self.high[0]))
            y = float(np.clip(pos.y(), self.low[1], self.high[1]))
            self._set(self.engine.set_latent, [x, y])
            self.show_controls()

    def _pad_clicked(self, event) -> None:
        point = self.pad.getViewBox().mapSceneToView(event.scenePos())
        self.target.setPos(point)

    def _note_clicked(self, note: int) -> None:
        self._set(self.engine.set_note, note)
        self._set(self.engine.set_gate, True)

    def _play_toggled(self, on: bool) -> None:
        if on:
            self.output.start()
        else:
            self.output.stop()
        self.play.setText("Stop" if on else "Start")

    def _record_toggled(self, on: bool) -> None:
        if on:
            self.record_started = time.perf_counter()
            self.recording = [(0.0, self.engine.controls)]
            if self.output is not None:
                self.output.producer.recorder = []
            self.record.setText("Stop recording")
            return
        rows, self.recording = self.recording, None
        rows.append((time.perf_counter() - self.record_started, self.engine.controls))
        self.record.setText("Record")
        self.save_take(rows)

    def save_take(self, rows) -> tuple[Path, Path]:
        """Writes the take's automation CSV and its audio (streamed, or rendered offline)."""
        self.takes += 1
        self.record_dir.mkdir(parents=True, exist_ok=True)
        csv_path = self.record_dir / f"take_{self.takes}.csv"
        wav_path = csv_path.with_suffix(".wav")
        write_automation(csv_path, rows, self.engine.latent_dim)
        streamed = self.output.producer.recorder if self.output is not None else None
        if streamed or (self.output is not None and self.output.stream.active):
            # while the sound plays the engine is the producer's: never render on it here
            audio = np.concatenate([np.zeros(0, np.float32)] + [h for _, h in streamed or []])
            self.output.producer.recorder = None
        else:
            controls = self.engine.controls
            audio = render_automation(self.engine, rows)
            self.engine.controls = controls
        write_wav(wav_path, audio, sample_rate=self.engine.sample_rate)
        self.status.setText(f"recorded {wav_path} and {csv_path.name}")
        return wav_path, csv_path

    # engine -> view
    _updating = False

    def show_controls(self) -> None:
        """Moves sliders, pad and note buttons to the engine's current controls."""
        self._updating = True
        c = self.engine.controls
        for i, slider in enumerate(self.sliders):
            span = self.high[i] - self.low[i]
            slider.setValue(round((c.latent[i] - self.low[i]) / span * SLIDER_STEPS))
        if self.pad is not None:
            self.target.setPos(c.latent[0], c.latent[1])
        self.note_buttons.button(c.note).setChecked(True)
        self._shown = c
        self._updating = False

    def redraw(self) -> None:
        if self.engine.controls != self._shown:  # changed elsewhere, e.g. by MIDI
            self.show_controls()
        mag = self.engine.last_magnitude[1:]
        self.curve.setData(self.freqs, 20 * np.log10(np.maximum(mag / max(mag.max(), 1e-12), 1e-4)))
        level = 20 * np.log10(max(self.engine.last_peak, 1e-3))
        self.meter.setValue(int(np.clip(level, -60, 0)))
        timing = self.engine.timing()
        underruns = self.output.underruns if self.output is not None else 0
        if self.output is not None and self.output.producer.error is not None:
            self.status.setText(f"audio stopped: {self.output.producer.error}")
        self.readout.setText(f"hop compute {timing['median_ms']:.2f} ms median, "
                             f"{timing['p99_ms']:.2f} ms p99; underruns {underruns}")  # fmt: skip


def note_colors() -> np.ndarray:
    """[12, 4] RGBA bytes: the 12 note classes on viridis, C dark blue ... B yellow (as the
    matplotlib figures of the analysis colour them)."""
    return pg.colormap.get("viridis").map(np.linspace(0, 1, 12), mode="byte")


def describe(run: Run) -> str:
    """One line about the model: name, latent size, bottleneck, test MSE."""
    final = run.final()
    text = f"{run.name}: {run.latent_dim}-D {run.bottleneck} bottleneck"
    return text + (f", test MSE {final['test_mse_best']:.2e}" if final is not None else "")
