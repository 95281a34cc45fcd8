"""Real-time output: a producer thread keeps a ring buffer ahead of a sounddevice stream.

The stream's callback only copies from the ring buffer (zeros and a count on underrun);
decoding runs in the producer thread, which tops the buffer up whenever it holds fewer than
`lead_samples` samples. Latency from a control change to the first sample that reflects it
is at most lead_samples + hop_length + the device's period.
"""

from __future__ import annotations

import gc
import sys
import threading
import time

import numpy as np

from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.ringbuffer import RingBuffer

SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while the callback waits for it
LEAD_SAMPLES = 768  # the producer refills below this fill level (17 ms at 44.1 kHz)
BLOCK_SIZE = 256  # samples per audio callback
POLL_SECONDS = 0.002  # the producer's sleep when the buffer is full enough


class Producer:
    """Runs `engine.next_hop` in a thread to keep `ring` filled; tees hops to `recorder`."""

    def __init__(self, engine: SynthEngine, ring: RingBuffer, *, lead_samples: int = LEAD_SAMPLES):
        if lead_samples + engine.hop_length > ring.capacity:
            raise ParameterError(f"lead_samples={lead_samples} does not fit the ring buffer")
        self.engine, self.ring, self.lead_samples = engine, ring, lead_samples
        self.recorder: list | None = None  # a list to append (controls, hop) to, or None
        self.error: Exception | None = None  # what stopped production, if anything
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="synth-producer", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.ring.available() < self.lead_samples:
                    controls = self.engine.controls
                    hop = self.engine.next_hop()
                    self.ring.write(hop)
                    recorder = self.recorder  # read once: the panel may swap it meanwhile
                    if recorder is not None:
                        recorder.append((controls, hop))
                else:
                    time.sleep(POLL_SECONDS)
        except Exception as err:  # the callback plays silence; the panel shows the error
            self.error = err

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class AudioOutput:
    """Plays an engine on a sounddevice output stream (mono float32).

    Args:
      engine: the synth engine.
      device: a sounddevice device name or index; default the system's default output.
      block_size: samples per callback.
      lead_samples: see `Producer`.
    """

    def __init__(self, engine: SynthEngine, *, device=None, block_size: int = BLOCK_SIZE,
                 lead_samples: int = LEAD_SAMPLES):  # fmt: skip
        import sounddevice as sd  # imported here: loading PortAudio is only needed to play

        self.engine = engine
        self.ring = RingBuffer(4 * (lead_samples + engine.hop_length + block_size))
        self.lead_samples = lead_samples
        self.producer = Producer(engine, self.ring, lead_samples=lead_samples)
        self._switch_interval = sys.getswitchinterval()
        self.device_underflows = 0  # callbacks whose status flagged an output underflow
        self.callbacks = 0
        self.prefilled = 0
        try:
            self.stream = sd.OutputStream(
                samplerate=engine.sample_rate, blocksize=block_size, channels=1, dtype="float32",
                device=device, latency="low", callback=self._callback,
            )  # fmt: skip
        except (sd.PortAudioError, ValueError) as err:
            raise ParameterError(f"cannot open audio output {device!r}: {err}") from err

    def _callback(self, outdata: np.ndarray, frames: int, time_info, status) -> None:
        if status.output_underflow:
            self.device_underflows += 1
            self.last_underflow = self.callbacks
        self.callbacks += 1
        self.ring.read_into(outdata[:, 0])

    @property
    def underruns(self) -> int:
        """Callbacks that found the ring buffer short of samples."""
        return self.ring.underruns

    def start(self) -> None:
        # The callback runs Python: with the default 5 ms GIL switch interval another thread
        # could hold it for most of a 5.8 ms period.
        sys.setswitchinterval(SWITCH_INTERVAL)
        gc.freeze()  # later collections skip everything allocated so far: shorter GIL pauses
        if self.producer.started:  # a thread runs once: a new producer for each start
            recorder = self.producer.recorder
            self.producer = Producer(self.engine, self.ring, lead_samples=self.lead_samples)
            self.producer.recorder = recorder
        while self.ring.available() < self.producer.lead_samples:  # pre-fill
            self.ring.write(self.engine.next_hop())
        self.prefilled = self.ring.available()  # samples before the producer's first hop
        self.producer.start()
        self.stream.start()

    def stop(self) -> None:
        """Stops the sound; `start` plays again."""
        self.stream.stop()
        self.producer.stop()
        sys.setswitchinterval(self._switch_interval)

    def close(self) -> None:
        """Releases the audio device."""
        self.stream.close()


def default_output_available() -> bool:
    """Whether PortAudio finds an output device."""
    try:
        import sounddevice as sd

        return any(d["max_output_channels"] > 0 for d in sd.query_devices())
    except (OSError, Exception):  # no PortAudio library, or no devices
        return False
