"""Takes: what a session plays, written as take_N.wav and take_N.csv off the audio path.

A streamed take gets each hop from the producer through a queue (a put, never a wait) and a
worker thread appends it to the WAV as it comes, so a take of any length holds no audio in
memory, only its rows: one per change of controls, at most one per hop (2,584 a minute at
44.1 kHz and 1024-sample hops). An offline take (no stream playing) keeps the rows of the
changes as they were made, and its worker renders them on an engine of its own when it ends.
Either way the CSV replays through `render --automation` to the WAV's samples.

`finish` asks the worker to end and returns at once; `result` waits for the files.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.synth.automation import PlayedWith, write_automation
from timbre_jax.synth.engine import Controls

TAKE = re.compile(r"take_(\d+)\.(csv|wav)$")
Rows = list[tuple[float, Controls]]  # (seconds from the take's first hop, controls)


def next_take_number(folder: Path) -> int:
    """One more than the highest take_N.csv or .wav in `folder` (1 in an empty folder)."""
    found = [int(m.group(1)) for p in folder.glob("take_*") if (m := TAKE.match(p.name))]
    return max(found, default=0) + 1


def ended(rows: Rows, seconds: float) -> Rows:
    """The rows with a last one at `seconds`, the end of the audio (its length, for a replay)."""
    return [*rows, (seconds, rows[-1][1]._replace(cut=False))]


class TakeFiles:
    """A take's two files and the worker thread that writes them.

    Args:
      csv: the take's CSV path; the WAV is beside it.
      latent_dim: the engine's, for the CSV's columns.
      played: what the engine plays with (its voices and between_notes).
    """

    def __init__(self, csv: Path, *, latent_dim: int, played: PlayedWith):
        self.csv, self.wav = csv, csv.with_suffix(".wav")
        self.latent_dim, self.played = latent_dim, played
        self.error: Exception | None = None
        self.written = False
        self._thread = threading.Thread(target=self._work, name="take-writer", daemon=True)

    def _work(self) -> None:
        try:
            self.write()
        except Exception as err:  # a full disk, a folder gone: said by `result`
            self.error = err

    def write(self) -> None:
        raise NotImplementedError

    def write_rows(self, rows: Rows) -> None:
        write_automation(self.csv, rows, self.latent_dim, self.played)
        self.written = True

    def done(self) -> bool:
        """Whether the worker has ended (`result` returns at once)."""
        return not self._thread.is_alive()

    def result(self) -> tuple[Path, Path] | None:
        """Waits for the worker; (wav, csv), or None if the take never started."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return (self.wav, self.csv) if self.written else None


class StreamedTake(TakeFiles):
    """A take of the stream: `add` each hop with the controls that made it (producer thread),
    then `finish`. Writes nothing if no hop came.

    Args:
      sample_rate, hop_length: the engine's.
    """

    def __init__(self, csv: Path, *, sample_rate: int, hop_length: int, **columns):
        super().__init__(csv, **columns)
        self.sample_rate, self.hop_length = sample_rate, hop_length
        self._hops: queue.SimpleQueue = queue.SimpleQueue()
        self._thread.start()

    def add(self, controls: Controls, hop: np.ndarray) -> None:
        """The controls the engine applied for `hop` [hop_length], and its samples (dropped
        once the writer has failed: `result` says why)."""
        if self.error is None:
            self._hops.put((controls, hop))

    def finish(self) -> None:
        """Ends the take at the last hop added (later ones are dropped)."""
        self._hops.put(None)

    def write(self) -> None:
        rows: Rows = []
        hops = 0
        with _LazyWav(self.wav, self.sample_rate) as wav:
            while (item := self._hops.get()) is not None:
                controls, hop = item
                # a cut on two hops in a row is two rows: each stops what the hop before began
                if not rows or controls != rows[-1][1] or controls.cut:
                    rows.append((hops * self.hop_length / self.sample_rate, controls))
                wav.write(hop)
                hops += 1
        if hops:
            self.write_rows(ended(rows, hops * self.hop_length / self.sample_rate))


class _LazyWav:
    """A 16-bit mono WAV opened at the first write (no hop, no file)."""

    def __init__(self, path: Path, sample_rate: int):
        self.path, self.sample_rate, self.file = path, sample_rate, None

    def __enter__(self) -> _LazyWav:
        return self

    def write(self, samples: np.ndarray) -> None:
        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = sf.SoundFile(self.path, "w", self.sample_rate, 1, "PCM_16")
        self.file.write(np.clip(samples, -1.0, 1.0))

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()


class OfflineTake(TakeFiles):
    """A take with no stream: `rows` are the changes as sources made them (seconds from the
    take's start); `finish` renders them with `render` in the worker.

    Args:
      start: the controls when the take starts.
      render: rows -> the take's audio [n] at `sample_rate`, on an engine of its own (the
        session's may start playing meanwhile).
    """

    def __init__(self, csv: Path, *, start: Controls, sample_rate: int,
                 render: Callable[[Rows], np.ndarray], **columns):  # fmt: skip
        super().__init__(csv, **columns)
        self.rows: Rows = [(0.0, start)]
        self.sample_rate, self.render = sample_rate, render

    def finish(self, seconds: float, controls: Controls) -> None:
        """Ends the take `seconds` after its start with `controls`, and starts the render."""
        self.rows.append((seconds, controls))
        self.rows.sort(key=lambda row: row[0])  # sources on two threads may append out of order
        self._thread.start()

    def write(self) -> None:
        audio = self.render(self.rows)
        self.csv.parent.mkdir(parents=True, exist_ok=True)
        write_wav(self.wav, audio, sample_rate=self.sample_rate)
        self.write_rows(self.rows)
