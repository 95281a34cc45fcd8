"""A playing session without Qt: the targets every source writes, the engine, the audio
output, the control sources (MIDI, OSC) and the take recorder.

Sources call the session's control methods (`ControlTargets`: one per control, applied
atomically). While the sound plays, the output's producer thread calls `next_hop`, which takes
a snapshot of the targets, applies it to the engine (`apply_controls`) and decodes the hop, so
a change is heard from the next hop on, whatever thread made it. The panel is a view of a
session; `python -m timbre_jax.synth --headless` plays one with no Qt at all.

Takes. While playing, Record arms the recorder: the take starts at the first hop at which the
engine is silent (at once if nothing sounds), where the engine is reset to the state
`render --automation` starts from. Each row is stamped with the hop that applied it, so the
take's CSV replays through `render --automation` to the take's own samples (the WAV is the
stream, at the engine's rate, before resampling). Without a playing stream, rows are stamped
with the time of the change and the WAV is rendered offline when the take stops. Takes are
numbered after the highest take already in the folder: none is ever overwritten.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np

from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.model.run import Run
from timbre_jax.synth.automation import apply_controls, render_automation, write_automation
from timbre_jax.synth.engine import Controls, SynthEngine, phase_methods
from timbre_jax.synth.keyboard import UntrainedKeys
from timbre_jax.synth.targets import ControlTargets

TAKE = re.compile(r"take_(\d+)\.(csv|wav)$")


class Take:
    """Rows (seconds from the take's first hop, controls) and the audio hops of a take."""

    def __init__(self, seconds_per_hop: float, controls: Controls):
        self.seconds_per_hop = seconds_per_hop
        self.rows: list[tuple[float, Controls]] = [(0.0, controls)]
        self.hops: list[np.ndarray] = []

    def add(self, controls: Controls, hop: np.ndarray) -> None:
        """The controls the engine applied for `hop`, and the hop's samples."""
        if controls != self.rows[-1][1] or controls.cut:  # a cut on two hops in a row: two
            self.rows.append((len(self.hops) * self.seconds_per_hop, controls))
        self.hops.append(hop)

    def end(self) -> list[tuple[float, Controls]]:
        """The rows with a last one at the end of the audio (its length, for the replay)."""
        last = self.rows[-1][1]._replace(cut=False)
        return [*self.rows, (len(self.hops) * self.seconds_per_hop, last)]


def next_take_number(folder: Path) -> int:
    """One more than the highest take_N.csv or .wav in `folder` (1 in an empty folder)."""
    found = [int(m.group(1)) for p in folder.glob("take_*") if (m := TAKE.match(p.name))]
    return max(found, default=0) + 1


class Session(ControlTargets):
    """Args:
    run: the model played.
    engine: its engine.
    output: an `AudioOutput` playing `engine`, or None (no audio device: takes render offline).
    record_dir: where takes go (take_N.csv and take_N.wav).
    """

    def __init__(self, run: Run, engine: SynthEngine, *, output=None, record_dir="takes"):
        super().__init__(engine.controls.latent, engine.controls.gain, engine.phase,
                         phase_methods(run), UntrainedKeys(run))  # fmt: skip
        self.run, self.engine, self.output = run, engine, output
        if output is not None:
            output.producer.next_hop = self.next_hop
        self.record_dir = Path(record_dir)
        self.sources: list = []  # open inputs (MIDI ports, OSC servers): closed with the session
        self.closed_tallies: list[str] = []  # what closed sources ignored, for the last status
        self.applied = self.peek()  # the controls of the last hop the engine played
        self._take: Take | None = None  # the take being recorded from the stream
        self._armed = False  # Record pressed while playing: the take starts at the next silence
        self._offline: list | None = None  # (seconds, controls) rows while recording offline
        self._offline_started = 0.0
        self._take_lock = threading.Lock()

    # the audio side
    @property
    def playing(self) -> bool:
        return self.output is not None and self.output.stream.active

    def start(self) -> None:
        """Starts the sound (the output's producer calls `next_hop`)."""
        self.output.start()

    def stop(self) -> None:
        self.output.stop()

    def next_hop(self) -> np.ndarray:
        """Applies the targets to the engine and plays one hop [hop_length] at its rate."""
        controls = self.snapshot()
        with self._take_lock:
            silent = self.engine.is_silent()  # before this hop's controls
            apply_controls(self.engine, controls)
            if self._armed and silent:
                self.engine.reset()  # the state render --automation starts from
                self._take = Take(self.engine.hop_length / self.engine.sample_rate, controls)
                self._armed = False
            hop = self.engine.next_hop()
            if self._take is not None:
                self._take.add(controls, hop)
        self.applied = controls
        return hop

    def render(self, seconds: float) -> np.ndarray:
        """`seconds` of audio [round(seconds * sample_rate)] played by `next_hop` (offline,
        when no stream plays)."""
        n = round(seconds * self.engine.sample_rate)
        hops = [self.next_hop() for _ in range(-(-n // self.engine.hop_length))]
        return np.concatenate(hops)[:n] if hops else np.zeros(0, np.float32)

    # takes
    @property
    def recording(self) -> str:
        """ "off", "armed" (waiting for silence to start) or "on"."""
        if self._armed:
            return "armed"
        return "on" if self._take is not None or self._offline is not None else "off"

    def start_recording(self, streamed: bool | None = None) -> None:
        """Arms a take from the stream (`streamed`, default: while playing: `next_hop` records
        it), else starts an offline take."""
        if self.playing if streamed is None else streamed:
            with self._take_lock:
                self._armed = True
        else:
            self._offline_started = time.perf_counter()
            self._offline = [(0.0, self.peek())]

    def all_notes_off(self, *, cut: bool = False) -> None:
        rows = self._offline
        written = len(rows) if rows is not None else 0
        super().all_notes_off(cut=cut)
        if cut and rows is not None:  # an offline take keeps the cut where it was asked:
            if len(rows) > written:  # on the row the release just wrote, else on a new one
                rows.pop()
            rows.append((time.perf_counter() - self._offline_started,
                         self.peek()._replace(cut=True)))  # fmt: skip

    def _changed(self) -> None:
        rows = self._offline
        if rows is not None and (controls := self.peek()) != rows[-1][1]:
            rows.append((time.perf_counter() - self._offline_started, controls))

    def stop_recording(self) -> tuple[Path, Path] | None:
        """Ends the take and writes it; returns (wav, csv), or None if it never started."""
        with self._take_lock:
            take, self._take, self._armed = self._take, None, False
        offline, self._offline = self._offline, None
        if take is not None and take.hops:
            rows, audio = take.end(), np.concatenate(take.hops)
        elif offline is not None:
            rows = [*offline, (time.perf_counter() - self._offline_started, self.peek())]
            rows.sort(key=lambda row: row[0])  # sources on two threads may append out of order
            audio = self._render_offline(rows)
        else:
            return None
        self.record_dir.mkdir(parents=True, exist_ok=True)
        csv_path = self.record_dir / f"take_{next_take_number(self.record_dir)}.csv"
        write_automation(csv_path, rows, self.engine.latent_dim, self.engine.voices.count)
        wav_path = csv_path.with_suffix(".wav")
        write_wav(wav_path, audio, sample_rate=self.engine.sample_rate)
        return wav_path, csv_path

    def _render_offline(self, rows) -> np.ndarray:
        """Renders rows on an engine of their own, as `render --automation` does (the
        session's may have started playing meanwhile)."""
        engine = SynthEngine(self.run, phase=self.engine.phase, voices=self.engine.voices.count)
        return render_automation(engine, rows)

    # sources and status
    def close(self) -> None:
        """Stops the sound, then closes the inputs (a JACK MIDI port closing while the sound
        plays reorders the JACK graph, which the device flags as an underflow)."""
        if self.playing:
            self.stop()
        for source in self.sources:
            source.close()
        self.closed_tallies += [t for t in (source.tally() for source in self.sources) if t]
        self.sources.clear()

    def news(self) -> list[str]:
        """What went wrong since the last call, each said once: refused keys, bad OSC."""
        lines = [self.keys.news()]
        lines += [line for source in self.sources for line in source.news()]
        return [line for line in lines if line]

    def status(self) -> str:
        """One line: voices, hop compute time, underruns (the ring's and the device's), the
        output's lead (it grows after ring underruns), and the messages the sources ignored."""
        timing = self.engine.timing()
        text = (f"voices {self.engine.sounding}/{self.engine.voices.count}  "
                f"hop {timing['median_ms']:.1f} ms median, {timing['p99_ms']:.1f} p99")  # fmt: skip
        if self.output is not None:
            text += (f"  underruns: ring {self.output.underruns}, "
                     f"device {self.output.device_underflows}  "
                     f"lead {1000 * self.output.producer.lead_seconds:.1f} ms")  # fmt: skip
        tallies = [t for t in (source.tally() for source in self.sources) if t]
        return "  ".join([text, *self.closed_tallies, *tallies])
