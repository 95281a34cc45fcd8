"""The PyQtGraph panel: sliders, an XY pad (`pad.py`), note buttons, the computer keyboard,
the MIDI input and live views of a `Session`.

With the pad, the only Qt code of the package, and only a view: widgets call the session's
control methods (as MIDI and OSC do), and a QTimer redraws the controls when the session's
change, and the spectrum, the level meter, the sounding voices and the timing readout from
what the engine last produced. A "learn" button by each latent slider maps the next MIDI
controller moved to that axis. The panel keeps the keyboard focus (its child widgets take
none), so letter keys always play notes (`keyboard.py`) instead of searching a combo box.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from timbre_jax.analysis.note_map import NoteShading
from timbre_jax.dsp.chroma import NOTE_NAMES, note_name
from timbre_jax.model.run import Run
from timbre_jax.synth import midi
from timbre_jax.synth.engine import RESIDUALS, SynthEngine
from timbre_jax.synth.keyboard import KEYS, ComputerKeyboard, pitch_of
from timbre_jax.synth.pad import HARMONIC_TEXT, SHADING_TEXT, LatentPad
from timbre_jax.synth.session import Session

SLIDER_STEPS = 1000
REDRAW_MS = 50
SPECTRUM_EVERY = 2  # redraws per spectrum redraw (10 per second): the costliest repaint
NO_MIDI = "(no MIDI input)"
CHROMA_NOTE = "the decoder is conditioned on chroma: it plays the pitch class, not the octave"


def conditioning_text(engine: SynthEngine) -> str:
    """What the model plays of a key: the pitch class only, or the note within its range."""
    if engine.note_range is None:
        return CHROMA_NOTE
    low, high = (note_name(p) for p in engine.note_range)
    return f"the decoder plays the note: trained {low}-{high}; keys outside move by octaves"


def played_name(engine: SynthEngine, pitch: int) -> str:
    """A sounding key's name, with the note a note model plays instead when it moved it."""
    decoded = int(engine.decoded_pitches([pitch])[0])
    return note_name(pitch) + ("" if decoded == pitch else f"->{note_name(decoded)}")


class SynthPanel(QtWidgets.QWidget):
    """Args:
    session: what the panel plays and shows (its engine, output, sources, takes).
    low, high: [latent_dim] span of the sliders and pad.
    embedding: optional (latents [N, d], notes [N]) shown on the XY pad.
    controller: the `MidiController` MIDI ports drive (its controller map; MIDI learn);
      default one with the default map.
    midi_port: the MIDI input to open (a name from `midi.input_names`), or None; one the
      session has open already is shown.
    midi_api: the rtmidi API of the MIDI inputs, e.g. "UNIX_JACK" (default: ALSA).
    """

    def __init__(self, session: Session, *, low, high, embedding=None, controller=None,
                 midi_port=None, midi_api=None):  # fmt: skip
        super().__init__()
        self.session, self.engine, self.output = session, session.engine, session.output
        run = session.run
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        self.controller = controller or midi.MidiController(session, self.low, self.high)
        self.untrained = session.keys  # keys that do not sound, said in the status line
        self.keyboard = ComputerKeyboard(keys=self.untrained)
        self.button_pitch: dict[int, int] = {}  # note button -> the pitch it plays
        self.midi_api = midi_api
        self.saving = None  # the take stopped last, until its files are written
        self.colors = note_colors()
        self.setWindowTitle(f"timbre_jax: {run.name}")
        layout = QtWidgets.QHBoxLayout(self)
        controls = QtWidgets.QVBoxLayout()
        layout.addLayout(controls, 1)
        controls.addWidget(QtWidgets.QLabel(describe(run)))
        self.sliders, self.slider_values, self.learn = [], [], []
        engine = self.engine
        for i in range(engine.latent_dim):
            slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            slider.setRange(0, SLIDER_STEPS)
            slider.valueChanged.connect(lambda _, axis=i: self._slider_moved(axis))
            value = QtWidgets.QLabel()
            value.setFixedWidth(value.fontMetrics().horizontalAdvance("-00.000"))
            row = QtWidgets.QHBoxLayout()
            learn = QtWidgets.QPushButton("learn", checkable=True)
            learn.setToolTip(f"move a MIDI controller to map it to z{i}")
            learn.toggled.connect(lambda on, axis=i: self._learn(axis, on))
            for widget in (QtWidgets.QLabel(f"z{i}"), slider, value, learn):
                row.addWidget(widget)
            controls.addLayout(row)
            self.sliders.append(slider)
            self.slider_values.append(value)
            self.learn.append(learn)
        self.pad = None  # a 2-D model's XY pad
        if engine.latent_dim == 2:
            shading = NoteShading(run) if engine.note_range is not None else None
            self.pad = LatentPad(self.low, self.high, self.colors, embedding, shading)
            self.pad.target.sigPositionChanged.connect(self._target_moved)
            controls.addWidget(self.pad, 3)
            if shading is not None:
                self.shading_text = QtWidgets.QLabel(SHADING_TEXT, wordWrap=True)
                controls.addWidget(self.shading_text)
        controls.addLayout(self._make_notes())
        row = QtWidgets.QHBoxLayout()
        self.phase = QtWidgets.QComboBox()
        self.phase.addItems(engine.phase_methods)
        self.phase.setCurrentText(session.peek().phase)
        self.phase.currentTextChanged.connect(lambda m: self._updating or session.set_phase(m))
        self.gain = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.gain.setRange(0, 100)
        self.gain.setValue(round(100 * session.peek().gain))
        self.gain.valueChanged.connect(lambda v: self._updating or session.set_gain(v / 100))
        self.residual = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.residual.setRange(*(round(db) for db in RESIDUALS))
        self.residual.setValue(round(session.peek().residual))
        self.residual.setToolTip("dB between the harmonics (harmonic phase): bow noise, breath")
        self.residual.valueChanged.connect(lambda v: self._updating or session.set_residual(v))
        for widget in (QtWidgets.QLabel("phase"), self.phase, QtWidgets.QLabel("gain"), self.gain,
                       QtWidgets.QLabel("residual"), self.residual):  # fmt: skip
            row.addWidget(widget)
        controls.addLayout(row)
        row = QtWidgets.QHBoxLayout()
        self.midi_ports = QtWidgets.QComboBox()
        self.midi_ports.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.midi_ports.currentTextChanged.connect(self.set_midi_input)
        self.rescan = QtWidgets.QPushButton("Rescan")
        self.rescan.clicked.connect(self.rescan_midi)
        for widget in (QtWidgets.QLabel("MIDI"), self.midi_ports, self.rescan):
            row.addWidget(widget)
        row.addStretch()
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
        if self.output is None:
            self.play.setEnabled(False)
            self.status.setText("no audio output device: Record renders takes offline")
        views = QtWidgets.QVBoxLayout()
        layout.addLayout(views, 2)
        self.spectrum = pg.PlotWidget(title="decoded magnitude (dB)")
        self.spectrum.setLogMode(x=True, y=False)
        self.spectrum.setYRange(-80, 0)
        self.spectrum.setLabel("bottom", "frequency", units="Hz")
        self.curve = self.spectrum.plot(pen="y", skipFiniteCheck=True)
        self.freqs = np.arange(1, engine.n_fft // 2 + 1) * engine.sample_rate / engine.n_fft
        # a fixed range (in log10 Hz): no autorange work on each new curve
        self.spectrum.setXRange(np.log10(self.freqs[0]), np.log10(self.freqs[-1]), padding=0)
        self.redraws = 0
        self._drawn_magnitude = np.zeros(0)  # the frame the curve shows
        views.addWidget(self.spectrum, 3)
        self.meter = QtWidgets.QProgressBar()
        self.meter.setRange(-60, 0)
        self.meter.setFormat("level %v dB")
        views.addWidget(self.meter)
        self.voices = QtWidgets.QLabel()
        views.addWidget(self.voices)
        self.readout = QtWidgets.QLabel()
        views.addWidget(self.readout)
        for child in self.findChildren(QtWidgets.QWidget):
            child.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.rescan_midi(select=midi_port)
        self.show_controls()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.redraw)
        self.timer.start(REDRAW_MS)

    def _make_notes(self) -> QtWidgets.QLayout:
        """Twelve note buttons (played while pressed, or latched with "hold") and the octave."""
        grid = QtWidgets.QGridLayout()
        self.note_buttons = QtWidgets.QButtonGroup(self)
        self.note_buttons.setExclusive(False)
        for n, name in enumerate(NOTE_NAMES):
            button = QtWidgets.QPushButton(name)
            self.note_buttons.addButton(button, n)
            grid.addWidget(button, n // 6, n % 6)
        self.note_buttons.idPressed.connect(self._button_pressed)
        self.note_buttons.idReleased.connect(self._button_released)
        self.note_buttons.idToggled.connect(lambda n, on: self._press(n) if on else self._lift(n))
        self.hold = QtWidgets.QPushButton("hold")
        self.hold.setCheckable(True)
        self.hold.toggled.connect(self._hold_toggled)
        self.octave = QtWidgets.QLabel()
        grid.addWidget(self.hold, 2, 0)
        grid.addWidget(self.octave, 2, 1, 1, 5)
        grid.addWidget(QtWidgets.QLabel(conditioning_text(self.engine), wordWrap=True), 3, 0, 1, 6)
        self.lit: frozenset[int] = frozenset()  # the note classes shown sounding
        self._enable_notes()
        return grid

    def _enable_notes(self) -> None:
        """Greys out the note buttons whose key in the current octave the model was never
        trained on, saying why in their tooltip; what such a button held is let go."""
        for n in range(len(NOTE_NAMES)):
            button, pitch = self.note_buttons.button(n), pitch_of(n, self.keyboard.octave)
            plays = self.untrained.plays(pitch)
            button.setEnabled(plays)  # Qt releases a button held down as it greys out
            button.setToolTip("" if plays else self.untrained.run.never_trained(pitch))
            button.setChecked(button.isChecked() and plays)  # a latched one: toggled off

    # control -> session
    def _note_on(self, pitch: int) -> None:
        self.session.note_on(pitch)

    def _note_off(self, pitch: int) -> None:
        self.session.note_off(pitch)

    def _press(self, n: int) -> None:
        self.button_pitch[n] = pitch_of(n, self.keyboard.octave)
        self._note_on(self.button_pitch[n])

    def _lift(self, n: int) -> None:
        if n in self.button_pitch:
            self._note_off(self.button_pitch.pop(n))

    def _button_pressed(self, n: int) -> None:
        if not self.hold.isChecked():  # with hold, the button's toggle plays
            self._press(n)

    def _button_released(self, n: int) -> None:
        if not self.hold.isChecked():
            self._lift(n)

    def _hold_toggled(self, on: bool) -> None:
        for button in self.note_buttons.buttons():
            button.setChecked(False)  # releases the latched notes when hold goes off
            button.setCheckable(on)

    def keyPressEvent(self, event) -> None:
        if not event.isAutoRepeat():
            pitch = self.keyboard.press(key_text(event))
            if pitch is not None:
                self._note_on(pitch)
            self._show_octave()
            self._enable_notes()

    def keyReleaseEvent(self, event) -> None:
        if not event.isAutoRepeat():
            pitch = self.keyboard.release(key_text(event))
            if pitch is not None:
                self._note_off(pitch)

    def focusOutEvent(self, event) -> None:
        """Keys released while the panel has no focus never arrive: stop what they play."""
        for key in list(self.keyboard.down):
            self._note_off(self.keyboard.release(key))
        super().focusOutEvent(event)

    def _slider_value(self, i: int) -> float:
        return self.low[i] + self.sliders[i].value() / SLIDER_STEPS * (self.high[i] - self.low[i])

    def _slider_moved(self, axis: int) -> None:
        if not self._updating:  # only this axis: another source may be moving the others
            self.session.set_axis(axis, self._slider_value(axis))
            self.show_controls()

    def _target_moved(self) -> None:
        if not self._updating:
            pos = self.pad.target.pos()
            x = float(np.clip(pos.x(), self.low[0], self.high[0]))
            y = float(np.clip(pos.y(), self.low[1], self.high[1]))
            self.session.set_latent([x, y])
            self.show_controls()

    def _learn(self, axis: int, on: bool) -> None:
        """MIDI learn for `axis`: the next controller moved maps to it (one axis at a time)."""
        if on:
            for i, button in enumerate(self.learn):
                button.setChecked(button.isChecked() and i == axis)
            self.controller.learn(axis)
        elif self.controller.learning == axis:
            self.controller.learn(None)

    def _show_learned(self) -> None:
        """Lets go of the learn button whose axis got its controller, saying which."""
        for axis, button in enumerate(self.learn):
            if button.isChecked() and self.controller.learning is None:
                button.setChecked(False)
                cc = [c for c, a in self.controller.cc_map.items() if a == axis]
                pressure = self.controller.pressure == axis
                self.status.setText(f"z{axis}: MIDI CC {cc[0]}" if cc
                                    else f"z{axis}: pressure" if pressure else "")  # fmt: skip

    def rescan_midi(self, *, select: str | None = None) -> None:
        """Lists the MIDI inputs again; keeps the open one (or opens `select`) if listed."""
        names = midi.input_names(self.midi_api)
        opened = self.session.midi_input
        wanted = select or (opened.name if opened is not None else None)
        self.midi_ports.blockSignals(True)
        self.midi_ports.clear()
        self.midi_ports.addItems([NO_MIDI, *names])
        self.midi_ports.setCurrentText(wanted if wanted in names else NO_MIDI)
        self.midi_ports.blockSignals(False)
        self.set_midi_input(self.midi_ports.currentText())

    def set_midi_input(self, name: str | None) -> None:
        """Asks the session to close its MIDI input and open `name` (None or NO_MIDI: none)."""
        name = None if name == NO_MIDI else name
        try:
            self.session.switch_midi(name, self.controller, self.midi_api)
            if name is not None:
                self.status.setText(f"MIDI input: {name}")
        except Exception as err:  # rtmidi's errors: the port went away, the system is down
            self.status.setText(f"cannot open MIDI input {name!r}: {err}")
        opened = self.session.midi_input
        self.midi_ports.blockSignals(True)
        self.midi_ports.setCurrentText(opened.name if opened is not None else NO_MIDI)
        self.midi_ports.blockSignals(False)

    def _play_toggled(self, on: bool) -> None:
        if on:
            self.session.start()
        else:
            self.session.stop()
        self.play.setText("Stop" if on else "Start")

    def _record_toggled(self, on: bool) -> None:
        if on:
            self.session.start_recording()
            self.record.setText("Stop recording")
            return
        self.record.setText("Record")
        self.saving = self.session.stop_recording()
        if self.saving is not None:
            self.status.setText(f"writing {self.saving.wav.name} ...")

    def _show_saved(self) -> None:
        """Says where the take went once its worker has written it."""
        if self.saving is None or not self.saving.done():
            return
        take, self.saving = self.saving, None
        try:
            paths = take.result()
        except Exception as err:  # the worker's: a full disk, a folder gone
            self.status.setText(f"the take could not be written: {err}")
            return
        self.status.setText(f"recorded {paths[0]} and {paths[1].name}" if paths
                            else "no take: the sound never stopped to start it")  # fmt: skip

    # engine -> view
    _updating = False

    def show_controls(self) -> None:
        """Moves sliders, pad and note lights to the engine's current controls."""
        self._updating = True
        self._shown = self.session.version
        c = self.session.peek()
        for i, slider in enumerate(self.sliders):
            span = self.high[i] - self.low[i]
            slider.setValue(round((c.latent[i] - self.low[i]) / span * SLIDER_STEPS))
            self.slider_values[i].setText(f"{c.latent[i]:.3f}")
        if self.pad is not None:
            self.pad.target.setPos(c.latent[0], c.latent[1])
        self.phase.setCurrentText(c.phase)  # as OSC may have set them
        self.gain.setValue(round(100 * c.gain))
        self.residual.setValue(round(c.residual))
        self._light({pitch % 12 for pitch, _ in c.notes})
        self._show_octave()
        self._updating = False

    def _light(self, classes: set[int]) -> None:
        """Colours the buttons of the sounding note classes (restyling only what changed)."""
        for n in classes ^ self.lit:
            r, g, b, _ = self.colors[n]
            text = "black" if 0.3 * r + 0.6 * g + 0.1 * b > 128 else "white"
            style = f"background-color: rgb({r}, {g}, {b}); color: {text}" if n in classes else ""
            self.note_buttons.button(n).setStyleSheet(style)
        self.lit = frozenset(classes)

    def _show_octave(self) -> None:
        low = pitch_of(0, self.keyboard.octave)
        self.octave.setText(f"keys {KEYS[0]}-{KEYS[-1]}: {note_name(low)}-{note_name(low + 12)}, "
                            "Z/X: octave")  # fmt: skip

    def redraw(self) -> None:
        """The QTimer's tick: outside changes, the voices, the spectrum, the meter, the readout."""
        if self.session.version != self._shown:  # changed elsewhere, e.g. by MIDI or OSC
            self.show_controls()
        controls = self.session.peek()
        self._show_learned()
        if self.pad is not None:
            harmonic = controls.phase == "harmonic"  # it plays the keys held all over the pad
            held = self.engine.decoded_pitches([pitch for pitch, _ in controls.notes])
            self.pad.shade(() if harmonic else tuple(sorted(set(held.tolist()))))
            if self.pad.shading is not None:
                self.shading_text.setText(HARMONIC_TEXT if harmonic else SHADING_TEXT)
            self.pad.show_notes(controls.expression)
        heard = self.session.heard
        names = " ".join(played_name(self.engine, pitch) for pitch, _ in controls.notes)
        self.voices.setText(f"voices {heard.sounding}/{self.engine.voices.count}: {names}")
        mag, self.redraws = heard.magnitude, self.redraws + 1
        if (self.redraws % SPECTRUM_EVERY == 0 and self.spectrum.isVisible()
                and not np.array_equal(mag, self._drawn_magnitude)):  # fmt: skip
            self._drawn_magnitude = mag
            mag = mag[1:]
            self.curve.setData(self.freqs, 20 * np.log10(np.maximum(mag / max(mag.max(), 1e-12),
                                                                    1e-4)))  # fmt: skip
        level = 20 * np.log10(max(heard.peak, 1e-3))
        self.meter.setUpdatesEnabled(False)  # setValue would repaint the bar at once
        self.meter.setValue(int(np.clip(level, -60, 0)))
        self.meter.setUpdatesEnabled(True)  # schedules the repaint with the rest
        news = self.session.news()  # refused keys, bad OSC messages since the last tick
        if news:
            self.status.setText("; ".join(news))
        elif self.session.recording == "armed":
            self.status.setText("recording armed: the take starts when the sound stops")
        self._show_saved()
        if self.session.error is not None:
            self.status.setText(f"audio stopped: {self.session.error}")
        self.readout.setText(self.session.status())

    def closeEvent(self, event) -> None:
        if self.pad is not None:
            self.pad.close_shading()
        super().closeEvent(event)


def key_text(event) -> str:
    """The upper-case letter of a key event, or "" for other keys."""
    key = event.key()
    return chr(key) if ord("A") <= key <= ord("Z") else ""


def note_colors() -> np.ndarray:
    """[12, 4] RGBA bytes: the 12 note classes on viridis, C dark blue ... B yellow (as the
    matplotlib figures of the analysis colour them)."""
    return pg.colormap.get("viridis").map(np.linspace(0, 1, 12), mode="byte")


def describe(run: Run) -> str:
    """One line about the model: name, latent size, bottleneck, test MSE."""
    final = run.final()
    text = f"{run.name}: {run.latent_dim}-D {run.bottleneck} bottleneck"
    return text + (f", test MSE {final['test_mse_best']:.2e}" if final is not None else "")
