"""Real-time output: a producer thread keeps a ring buffer ahead of a sounddevice stream.

A hop source (a `Session`) makes mono hops at the engine's rate (44.1 kHz); the stream runs
at the device's rate (its default, or `rate`) on all its output channels (or `channels`), every
channel playing the same mono signal. The producer thread makes hops, resamples them to the
device's rate with a streaming resampler (soxr; none when the rates are equal) and tops the
ring buffer up whenever it holds less than `lead_seconds` of sound. The stream's callback,
compiled (`native_callback`: it never waits for the GIL), only copies from the ring buffer into
every channel (zeros and a count on underrun). Latency from a
control change to the first sample that reflects it is at most the lead + one hop + the
resampler's delay (0.5 ms; none at equal rates) + the device's output latency.

The lead adapts: each time the stream finds the ring short (an audible gap), the producer keeps
LEAD_GROWTH times more sound ahead, up to MAX_LEAD_SECONDS, so a host that stalls the producer
longer than the lead costs a gap or two and then some latency, not a gap every few seconds.
A gap that even MAX_LEAD_SECONDS of lead would not have covered (the lead + the zeros played
exceed it: the whole host stalled for longer) leaves the lead as it was: more latency would
not have helped.
After RELAX_SECONDS of stream with no gap it steps back down by the same factor, to no less
than the lead it began with, so one stall does not cost latency for the rest of the play.

Where the host allows it (Linux: root, CAP_SYS_NICE or an rtprio limit), the producer thread
runs at real-time priority (SCHED_FIFO `PRODUCER_PRIORITY`: ahead of every normal thread,
behind every audio thread), and the synth's process runs JAX computations inline in the thread
that calls them (`run_jax_inline`), so a whole hop is that one thread's work and a busy
neighbour (a training run) cannot hold it up. Either alone does not help
(`launch/bench_hop_priority.py`).
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import sys
import threading
import time
import weakref
from typing import Protocol

import numpy as np

from timbre_jax.errors import ParameterError
from timbre_jax.synth import devices
from timbre_jax.synth.callback_trace import CallbackTrace, Moments
from timbre_jax.synth.native_callback import CALLBACKS, STOPPING, callback_table, stream_callback
from timbre_jax.synth.ringbuffer import RingBuffer

SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while another waits for it
LEAD_SECONDS = 0.0175  # the producer refills below this much sound (772 samples at 44.1 kHz)
LEAD_GROWTH = 1.5  # the lead's factor after each underrun ...
MAX_LEAD_SECONDS = 0.06  # ... up to this (17.5 -> 26 -> 39 -> 59 ms)
RELAX_SECONDS = 30.0  # stream time with no gap after which the lead steps back down
BLOCK_SIZE = 256  # samples (frames) per audio callback
POLL_SECONDS = 0.002  # the producer's sleep when the buffer is full enough
PRODUCER_PRIORITY = 1  # SCHED_FIFO's lowest: below JACK's threads (10-95), above normal ones
STOP_SECONDS = 5.0  # the longest a stop waits for the producer's last hop
# soxr's "LQ": 0.5 ms of delay, flat to 17 kHz (-3.5 dB at 18 kHz, -22 dB at 20 kHz, from
# 44.1 to 48 kHz). "HQ" is flat to 20 kHz but adds about 8 ms, which took the control-to-sound
# latency at 48 kHz from 35 to 45 ms median, 46 to 59 ms max (launch/bench_synth.py).
RESAMPLE_QUALITY = "LQ"
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42  # Linux prctl(2) options


def transparent_huge_pages(enabled: bool) -> bool | None:
    """Allows or forbids transparent huge pages in this process (Linux; elsewhere nothing is
    done and None returned); returns whether they were allowed before.

    Forbidding them keeps khugepaged away: every `scan_sleep_millisecs` (10 s by default) it
    collapses the process's madvised memory (NumPy madvises arrays over 4 MB) into huge pages
    with the process's memory map locked, and the audio thread missed a whole JACK period at
    each scan (a PortAudio underflow or a ring underrun every 10.24 s in a held chord; with
    the scan every 3 s, every 3.07 s; with this off, none)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    before = libc.prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)
    if before < 0:  # a kernel without the option: nothing to change
        return None
    libc.prctl(PR_SET_THP_DISABLE, int(not enabled), 0, 0, 0)
    return before == 0


def realtime_thread(thread: int = 0, priority: int = PRODUCER_PRIORITY) -> bool:
    """Puts a thread (its `native_id`; 0: the calling one) in SCHED_FIFO at `priority`;
    returns whether the host let it (False without the privilege, and off Linux)."""
    if not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(thread, os.SCHED_FIFO, os.sched_param(priority))
    except OSError:
        return False
    return True


def run_jax_inline() -> None:
    """Runs this process's JAX computations in the thread that calls them (no asynchronous
    dispatch to JAX's own threads). Takes effect only if called before JAX's CPU backend
    starts (the process's first computation)."""
    import jax

    jax.config.update("jax_cpu_enable_async_dispatch", False)


class HopSource(Protocol):
    """What a producer plays: a `Session` (the player's controls, takes) or, offline, an
    engine."""

    sample_rate: int  # Hz
    hop_length: int  # samples

    def next_hop(self) -> np.ndarray:
        """The next hop [hop_length] float32."""


class Producer:
    """Runs `source.next_hop` in a thread to keep `ring` filled.

    Args:
      source: what makes the hops (a `Session`).
      ring: the buffer the stream reads; it holds samples at `rate`.
      rate: the stream's sample rate in Hz; default the source's. Hops are resampled to it.
      lead_seconds: the producer tops the ring up while it holds less sound than this; it
        grows after each underrun of the ring (`LEAD_GROWTH`, up to `MAX_LEAD_SECONDS` or what
        the ring holds) that so long a lead would have covered, and steps back down after
        `RELAX_SECONDS` of stream with none.
    """

    def __init__(self, source: HopSource, ring: RingBuffer, *, rate: int | None = None,
                 lead_seconds: float = LEAD_SECONDS):  # fmt: skip
        self.rate = rate or source.sample_rate
        self.lead_samples = round(lead_seconds * self.rate)
        hop_samples = math.ceil(source.hop_length * self.rate / source.sample_rate)
        # the resampler may release up to two hops' samples at once
        if self.lead_samples + 2 * hop_samples > ring.capacity:
            raise ParameterError(f"a lead of {lead_seconds} s does not fit the ring buffer")
        most = min(round(MAX_LEAD_SECONDS * self.rate), ring.capacity - 2 * hop_samples)
        self.max_lead_samples = max(self.lead_samples, most)
        self.min_lead_samples = self.lead_samples
        self.relax_samples = round(RELAX_SECONDS * self.rate)
        self._underruns_seen, self._missing_seen = ring.underruns, ring.missing
        self._changed_at = ring.read  # stream samples
        self.source, self.ring = source, ring
        self.resampler = None  # kept across restarts: the sound continues where it stopped
        if self.rate != source.sample_rate:
            import soxr

            self.resampler = soxr.ResampleStream(
                source.sample_rate, self.rate, num_channels=1, dtype="float32",
                quality=RESAMPLE_QUALITY,
            )  # fmt: skip
        self.error: Exception | None = None  # what stopped production, if anything
        self.realtime: bool | None = None  # whether the thread got real-time priority
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def produce(self) -> None:
        """Makes one hop and writes it, resampled to `rate`, to the ring."""
        hop = self.source.next_hop()
        if self.resampler is not None:
            hop = self.resampler.resample_chunk(hop)
        self.ring.write(hop)

    def fill(self) -> None:
        """Produces hops until the ring holds the lead (the pre-fill, before the stream)."""
        while self.ring.available() < self.lead_samples:
            self.produce()

    @property
    def lead_seconds(self) -> float:
        """The sound kept ahead of the stream now, in seconds."""
        return self.lead_samples / self.rate

    def keep_up(self) -> bool:
        """One turn of the producer: grows the lead if the stream found the ring short since
        the last turn (or shrinks it after `relax_samples` of stream without), then produces a
        hop if the ring holds less than the lead. Returns whether it produced."""
        read = self.ring.read
        if self.ring.underruns != self._underruns_seen:  # a gap: keep more sound ahead now
            gap = self.ring.missing - self._missing_seen  # zeros the stream played
            self._underruns_seen, self._missing_seen = self.ring.underruns, self.ring.missing
            self._changed_at = read
            if self.lead_samples + gap <= self.max_lead_samples:  # what a lead could cover
                grown = round(self.lead_samples * LEAD_GROWTH)
                self.lead_samples = min(self.max_lead_samples, grown)
        elif read - self._changed_at >= self.relax_samples:  # quiet for long: step back down
            self._changed_at = read
            shrunk = round(self.lead_samples / LEAD_GROWTH)
            self.lead_samples = max(self.min_lead_samples, shrunk)
        if self.ring.available() < self.lead_samples:
            self.produce()
            return True
        return False

    def _run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                if not self.keep_up():
                    time.sleep(POLL_SECONDS)
        except Exception as err:  # the callback plays silence; the panel shows the error
            self.error = err

    def check_stopped(self) -> None:
        """Refuses to go on while a thread of an earlier start still runs."""
        if self._thread is not None and self._thread.is_alive():
            raise ParameterError("the producer is still running: stop it before a start")

    def start(self) -> None:
        """Starts producing in a new thread (again after `stop`)."""
        self.check_stopped()
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                        name="synth-producer", daemon=True)  # fmt: skip
        self._thread.start()
        self.realtime = realtime_thread(self._thread.native_id)

    def stop(self) -> None:
        """Returns once the thread has ended (a hop takes milliseconds; after STOP_SECONDS
        a thread still running is an error, so two producers never share the ring)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)
            if self._thread.is_alive():
                raise RuntimeError(f"the synth's producer did not end within {STOP_SECONDS} s")
            self._thread = None


class AudioOutput:
    """Plays a hop source on a sounddevice output stream (float32), its mono signal on every
    channel.

    Args:
      source: what makes the hops (a `Session`).
      device: an output's index or (part of) its name (`devices.resolve`); default the
        system's default output.
      rate: the stream's sample rate in Hz; default the device's default rate.
      channels: how many of the device's output channels to play on; default all.
      block_size: samples (frames) per callback, at the stream's rate.
      lead_seconds: see `Producer`.

    Raises:
      ParameterError: one line listing the outputs, when there is no such device or it
        refuses the rate or channels.
    """

    def __init__(self, source: HopSource, *, device: int | str | None = None,
                 rate: int | None = None, channels: int | None = None,
                 block_size: int = BLOCK_SIZE, lead_seconds: float = LEAD_SECONDS):  # fmt: skip
        import sounddevice as sd  # imported here: loading PortAudio is only needed to play

        self.device = devices.resolve(device)
        self.sample_rate = rate or self.device.sample_rate  # Hz, the stream's
        self.channels = channels or self.device.channels
        if self.sample_rate <= 0 or self.channels <= 0:
            raise ParameterError(f"rate (Hz) and channels must be positive, got {rate}, {channels}")
        hop_samples = math.ceil(source.hop_length * self.sample_rate / source.sample_rate)
        lead_samples = round(lead_seconds * self.sample_rate)
        self.ring = RingBuffer(4 * (lead_samples + hop_samples + block_size))
        self.producer = Producer(source, self.ring, rate=self.sample_rate,
                                 lead_seconds=lead_seconds)  # fmt: skip
        self.block_size = block_size
        self._mono = np.zeros(block_size, np.float32)  # the callback's block
        self._switch_interval = sys.getswitchinterval()
        self._huge_pages: bool | None = None  # whether they were allowed before `start`
        self.underflows = Moments()  # callbacks whose status flagged an output underflow
        self.short = Moments()  # callbacks that found the ring buffer short (underruns)
        self._state = np.zeros(2, np.int64)  # CALLBACKS, STOPPING: the callback's
        self.trace = CallbackTrace()  # each callback's timestamps (`callback_trace.lateness`)
        self._table = callback_table(self.ring, self._mono, self.channels, self._state,
                                     self.underflows, self.short, self.trace)  # fmt: skip
        self.prefilled = 0
        import cffi

        ffi = cffi.FFI()  # sounddevice casts a C function pointer from any FFI
        try:
            self.stream = sd._StreamBase(  # the base class takes a C callback and user data
                "output", samplerate=self.sample_rate, blocksize=block_size,
                channels=self.channels, dtype="float32", device=self.device.index,
                latency="low", callback=ffi.cast("void *", stream_callback().address),
                userdata=ffi.cast("void *", self._table.ctypes.data),
            )  # fmt: skip
        except (sd.PortAudioError, ValueError) as err:
            reason = " ".join(str(err).split())
            raise ParameterError(
                f"cannot play on {self.device.index}: {self.device.name} at {self.sample_rate} Hz "
                f"on {self.channels} channels ({reason}); "
                f"outputs: {devices.listing(devices.output_devices())}"
            ) from err
        # The stream holds only the table's address: it must close before the arrays go, also
        # when an output is dropped without `close`.
        self._close_stream = weakref.finalize(self, self.stream.close)

    @property
    def callbacks(self) -> int:
        """Periods the stream has played."""
        return int(self._state[CALLBACKS])

    @property
    def underruns(self) -> int:
        """Callbacks that found the ring buffer short of samples."""
        return self.ring.underruns

    @property
    def device_underflows(self) -> int:
        """Callbacks whose status flagged an output underflow (the device's, e.g. a JACK xrun)."""
        return self.underflows.count

    def problems(self) -> str:
        """How many callbacks found the ring short and the device underflowing, and when: the
        first 8 runs of consecutive callbacks and the last kept, each as its stream seconds
        ("2.69-3.22" for a run, "" if none)."""
        times, kinds = [], (("ring underruns", self.short), ("device underflows", self.underflows))
        for name, moments in kinds:
            if moments.count:
                spans = moments.spans(self.block_size, self.sample_rate)
                spans = [f"{start:.2f}-{end:.2f}" if end - start > 1.5 * self.period
                         else f"{start:.2f}" for start, end in spans]  # fmt: skip
                last = f" ... {spans[-1]}" if len(spans) > 8 else ""
                runs = f"{moments.run_count} run{'s' * (moments.run_count > 1)}"
                times.append(f"{moments.count} {name} in {runs} at {', '.join(spans[:8])}{last} s")
        return "; ".join(times)

    @property
    def period(self) -> float:
        """Seconds of sound per callback."""
        return self.block_size / self.sample_rate

    def start(self) -> None:
        self.producer.check_stopped()  # the pre-fill plays the source: one thread at a time
        # The MIDI and OSC threads run Python: with the default 5 ms GIL switch interval the
        # producer could hold it for 5 ms before a note is heard.
        sys.setswitchinterval(SWITCH_INTERVAL)
        gc.freeze()  # later collections skip everything allocated so far: shorter pauses
        allowed = transparent_huge_pages(False)
        if self._huge_pages is None:  # the setting from before the first start (a start
            self._huge_pages = allowed  # that failed after this line must not replace it)
        self.producer.fill()
        self.prefilled = self.ring.available()  # samples before the producer's first hop
        self.producer.start()
        self._state[STOPPING] = 0
        self.stream.start()

    def stop(self) -> None:
        """Stops the sound; `start` plays again."""
        self._state[STOPPING] = 1
        self.stream.stop()
        self.producer.stop()
        sys.setswitchinterval(self._switch_interval)
        gc.unfreeze()  # what `start` froze is collectable again
        if self._huge_pages is not None:
            transparent_huge_pages(self._huge_pages)
            self._huge_pages = None

    def close(self) -> None:
        """Releases the audio device."""
        self._close_stream()


def default_output_available() -> bool:
    """Whether PortAudio finds an output device."""
    return bool(devices.output_devices())
