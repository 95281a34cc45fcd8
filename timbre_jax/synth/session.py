"""A playing session without Qt: the one surface other threads play through.

A session holds the targets every source writes (`ControlTargets`: one method per control,
applied atomically), the engine, the audio output, the control sources (MIDI ports, OSC
servers) and the takes. Sources, the panel and scripts call its methods from their own
threads; only the output's producer thread touches the engine: each `next_hop` takes a
snapshot of the targets, applies it (`apply_controls`) and decodes the hop, so a change is
heard from the next hop on, whatever thread made it. The panel is a view of a session;
`python -m timbre_jax.synth --headless` plays one with no Qt at all.

Takes (`takes.py`). While playing, Record arms a take: it starts at the first hop at which
the engine is silent (at once if nothing sounds), where the engine is reset to the state
`render --automation` starts from. Each row is stamped with the hop that applied it, so the
take's CSV replays through `render --automation` to the take's own samples (the WAV is the
stream, at the engine's rate, before resampling); a worker thread writes the hops as they
come. Without a playing stream, rows are stamped with the time of the change and the WAV is
rendered offline when the take stops. Takes are numbered after the highest take already in
the folder: none is ever overwritten.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from timbre_jax.model.run import Run
from timbre_jax.synth import midi
from timbre_jax.synth.audio_out import AudioOutput
from timbre_jax.synth.automation import PlayedWith, apply_controls, render_automation
from timbre_jax.synth.engine import SynthEngine, phase_methods
from timbre_jax.synth.keyboard import UntrainedKeys
from timbre_jax.synth.takes import OfflineTake, StreamedTake, TakeFiles, next_take_number
from timbre_jax.synth.targets import ControlTargets

UNBENT = (
    "pitch bend and vibrato sound only with harmonic phase (a note model's): the notes play unbent"
)


class Heard(NamedTuple):
    """What the last hop played, for displays."""

    magnitude: np.ndarray  # [n_bins] the voices' summed magnitude frame
    peak: float  # the hop's largest sample, after gain and limiter
    sounding: int  # voices heard


class Session(ControlTargets):
    """Args:
    run: the model played.
    engine: its engine (from now on only the session's producer, or its `render`, plays it).
    record_dir: where takes go (take_N.csv and take_N.wav).

    `open_output` gives it a device to play on; without one, takes render offline.
    """

    def __init__(self, run: Run, engine: SynthEngine, *, record_dir="takes"):
        super().__init__(engine.controls.latent, engine.controls.gain, engine.phase,
                         phase_methods(run), UntrainedKeys(run))  # fmt: skip
        self.run, self.engine = run, engine
        self.sample_rate, self.hop_length = engine.sample_rate, engine.hop_length
        self.output: AudioOutput | None = None
        self.record_dir = Path(record_dir)
        self.closed_tallies: list[str] = []  # what closed sources ignored, for the last status
        self.applied = self.peek()  # the controls of the last hop the engine played
        self.heard = Heard(engine.last_magnitude, 0.0, 0)
        self._sources: list = []  # open inputs (MIDI ports, OSC servers): closed with the session
        self._sources_lock = threading.Lock()
        self._take: StreamedTake | None = None  # the take being recorded from the stream
        self._armed: StreamedTake | None = None  # Record pressed: starts at the next silence
        self._offline: OfflineTake | None = None  # the take recorded without a stream
        self._offline_started = 0.0
        self._take_lock = threading.Lock()  # held to swap the takes above, never for a hop
        self._rows_lock = threading.RLock()  # an offline take's rows, appended by any source
        self._saving: list[TakeFiles] = []  # takes stopped: their workers may still write
        self._last_take = 0
        self._said_unbent = False  # whether news said once that a bend is not heard

    # the audio side
    def open_output(self, **options) -> AudioOutput:
        """Opens the audio device that plays this session (`AudioOutput`'s options)."""
        self.output = AudioOutput(self, **options)
        return self.output

    @property
    def playing(self) -> bool:
        return self.output is not None and self.output.stream.active

    @property
    def error(self) -> Exception | None:
        """What stopped the sound, if anything did."""
        return self.output.producer.error if self.output is not None else None

    def start(self) -> None:
        """Starts the sound (the output's producer calls `next_hop`)."""
        self.output.start()

    def stop(self) -> None:
        """Stops the sound; returns once the producer has played its last hop."""
        self.output.stop()

    def next_hop(self) -> np.ndarray:
        """Applies the targets to the engine and plays one hop [hop_length] at its rate (the
        producer's thread, or `render`'s)."""
        controls = self.snapshot()
        with self._take_lock:
            begins = self._armed if self._armed is not None and self.engine.is_silent() else None
            if begins is not None:
                self._take, self._armed = begins, None
            take = self._take
        apply_controls(self.engine, controls)
        if begins is not None:
            self.engine.reset()  # the state render --automation starts from
        hop = self.engine.next_hop()
        if take is not None:
            take.add(controls, hop)
        self.applied = controls
        self.heard = Heard(self.engine.last_magnitude, self.engine.last_peak, self.engine.sounding)
        return hop

    def render(self, seconds: float) -> np.ndarray:
        """`seconds` of audio [round(seconds * sample_rate)] played by `next_hop` (offline,
        when no stream plays)."""
        n = round(seconds * self.sample_rate)
        hops = [self.next_hop() for _ in range(-(-n // self.hop_length))]
        return np.concatenate(hops)[:n] if hops else np.zeros(0, np.float32)

    # takes
    @property
    def recording(self) -> str:
        """ "off", "armed" (waiting for silence to start) or "on"."""
        if self._armed is not None:
            return "armed"
        return "on" if self._take is not None or self._offline is not None else "off"

    def _next_csv(self) -> Path:
        """The next take's CSV path (numbers are never reused, also while one is written)."""
        self._last_take = max(self._last_take + 1, next_take_number(self.record_dir))
        return self.record_dir / f"take_{self._last_take}.csv"

    def start_recording(self, streamed: bool | None = None) -> None:
        """Arms a take from the stream (`streamed`, default: while playing: `next_hop` records
        it), else starts an offline take."""
        if self.recording != "off":
            self.stop_recording()  # a second Record ends the take before it, not loses it
        played = PlayedWith(self.engine.voices.count, self.engine.between_notes)
        columns = {"latent_dim": self.latent_dim, "played": played}
        if self.playing if streamed is None else streamed:
            take = StreamedTake(self._next_csv(), sample_rate=self.sample_rate,
                                hop_length=self.hop_length, **columns)  # fmt: skip
            with self._take_lock:
                self._armed = take
        else:
            self._offline_started = time.perf_counter()
            self._offline = OfflineTake(self._next_csv(), start=self.peek(),
                                        sample_rate=self.sample_rate,
                                        render=self._render_offline, **columns)  # fmt: skip

    def all_notes_off(self, *, cut: bool = False) -> None:
        with self._rows_lock:
            take = self._offline
            written = len(take.rows) if take is not None else 0
            super().all_notes_off(cut=cut)
            if cut and take is not None:  # an offline take keeps the cut where it was asked:
                if len(take.rows) > written:  # on the row the release wrote, else a new one
                    take.rows.pop()
                take.rows.append((time.perf_counter() - self._offline_started,
                                  self.peek()._replace(cut=True)))  # fmt: skip

    def _changed(self) -> None:
        with self._rows_lock:
            take = self._offline
            if take is not None and (controls := self.peek()) != take.rows[-1][1]:
                take.rows.append((time.perf_counter() - self._offline_started, controls))

    def stop_recording(self) -> TakeFiles | None:
        """Ends the take; returns it at once (its `result()` waits for the files: (wav, csv),
        or None if it never started), or None if none was recording."""
        with self._take_lock:
            take = self._take or self._armed
            self._take = self._armed = None
        with self._rows_lock:  # no source appends a row once the take has ended
            offline, self._offline = self._offline, None
            if offline is not None:
                offline.finish(time.perf_counter() - self._offline_started, self.peek())
        if take is not None:
            take.finish()
        elif offline is not None:
            take = offline
        else:
            return None
        self._saving = [t for t in self._saving if not t.done()] + [take]
        return take

    def _render_offline(self, rows) -> np.ndarray:
        """Renders rows on an engine of their own, as `render --automation` does."""
        engine = SynthEngine(self.run, phase=self.engine.phase, voices=self.engine.voices.count,
                             between_notes=self.engine.between_notes)  # fmt: skip
        return render_automation(engine, rows)

    # sources and status
    def add_source(self, source) -> None:
        """Keeps an open input (an OSC server, a MIDI port) to close with the session."""
        with self._sources_lock:
            self._sources.append(source)

    @property
    def sources(self) -> tuple:
        with self._sources_lock:
            return tuple(self._sources)

    @property
    def midi_input(self) -> midi.MidiInput | None:
        """The MIDI input open now, if any."""
        return next((s for s in self.sources if isinstance(s, midi.MidiInput)), None)

    def switch_midi(self, name: str | None, controller: midi.MidiController,
                    api: str | None = None) -> None:  # fmt: skip
        """Closes the MIDI input open now (unless it is `name`) and opens `name` for
        `controller` (None: none). Raises what rtmidi raises when the port will not open."""
        current = self.midi_input
        if current is not None and current.name == name:
            return
        if current is not None:
            self._close(current)
        if name is not None:
            self.add_source(midi.MidiInput(controller, name, api))

    def _close(self, source) -> None:
        with self._sources_lock:
            self._sources.remove(source)
        source.close()
        if tally := source.tally():
            self.closed_tallies.append(tally)

    def close(self) -> None:
        """Stops the sound, closes the inputs (a JACK MIDI port closing while the sound plays
        reorders the JACK graph, which the device flags as an underflow), ends a take and
        waits for the takes still being written, and lets the audio device go."""
        if self.playing:
            self.stop()
        for source in self.sources:
            self._close(source)
        self.stop_recording()
        failed = []
        for take in self._saving:
            try:
                take.result()
            except Exception as err:  # said below, after the device is let go
                failed.append(err)
        if self.output is not None:
            self.output.close()
        if failed:
            raise failed[0]

    def news(self) -> list[str]:
        """What went wrong since the last call, each said once: refused keys, bad OSC, a bend
        played where it is not heard."""
        lines = [self.keys.news(), self._unbent_news()]
        lines += [line for source in self.sources for line in source.news()]
        return [line for line in lines if line]

    def _unbent_news(self) -> str:
        c = self.applied
        if self._said_unbent or not (c.bend or c.vibrato) or c.phase == "harmonic":
            return ""
        self._said_unbent = True
        return UNBENT

    def status(self) -> str:
        """One line: voices, hop compute time, underruns (the ring's and the device's), the
        output's lead (it grows after ring underruns), and the messages the sources ignored."""
        timing = self.engine.timing()
        text = (f"voices {self.heard.sounding}/{self.engine.voices.count}  "
                f"hop {timing['median_ms']:.1f} ms median, {timing['p99_ms']:.1f} p99")  # fmt: skip
        if self.output is not None:
            text += (f"  underruns: ring {self.output.underruns}, "
                     f"device {self.output.device_underflows}  "
                     f"lead {1000 * self.output.producer.lead_seconds:.1f} ms")  # fmt: skip
        tallies = [t for t in (source.tally() for source in self.sources) if t]
        return "  ".join([text, *self.closed_tallies, *tallies])
