"""The compiled output callback, called as PortAudio calls it (a C function pointer)."""

import ctypes
import time

import numpy as np
import pytest

from timbre_jax.synth import native_callback as native
from timbre_jax.synth.callback_trace import CallbackTrace, Moments
from timbre_jax.synth.ringbuffer import RingBuffer

PA_STREAM_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64,
                                      ctypes.c_void_p)  # fmt: skip
BLOCK, CHANNELS = 4, 3


class Stream:
    """What PortAudio would hand the callback: an interleaved output buffer and time info."""

    def __init__(self, ring: RingBuffer, kept_runs: int = 64):
        self.ring, self.mono = ring, np.zeros(BLOCK, np.float32)
        self.state = np.zeros(2, np.int64)
        self.underflows, self.short = Moments(kept_runs), Moments(kept_runs)
        self.trace = CallbackTrace(kept=8)
        self.table = native.callback_table(ring, self.mono, CHANNELS, self.state, self.underflows,
                                    self.short, self.trace)  # fmt: skip
        self.call = PA_STREAM_CALLBACK(native.stream_callback().address)

    def period(self, stream_time: float, status: int = 0, frames: int = BLOCK) -> np.ndarray:
        """Calls the callback once; returns what it wrote [frames, CHANNELS]."""
        out = np.full((frames, CHANNELS), np.nan, np.float32)
        time_info = np.array([0.0, stream_time, stream_time + 0.01])  # adc, current, dac
        result = self.call(None, out.ctypes.data, frames, time_info.ctypes.data, status,
                           self.table.ctypes.data)  # fmt: skip
        assert result == native.PA_CONTINUE
        return out


@pytest.fixture(scope="module")
def compiled():
    native.stream_callback()  # compiled once (about a second)


def test_every_channel_plays_the_ring_and_a_short_read_ends_in_zeros(compiled):
    stream = Stream(RingBuffer(16))
    stream.ring.write(np.arange(1, 7, dtype=np.float32))
    np.testing.assert_array_equal(stream.period(1.0), np.repeat([[1], [2], [3], [4]], CHANNELS, 1))
    np.testing.assert_array_equal(stream.period(1.1), np.repeat([[5], [6], [0], [0]], CHANNELS, 1))
    ring, callbacks = stream.ring, stream.state[native.CALLBACKS]
    assert (ring.read, ring.underruns, ring.missing, callbacks) == (6, 1, 2, 2)
    assert stream.short.count == 1 and stream.short.callbacks() == [1]  # the second callback


def test_consecutive_short_periods_are_one_run_and_runs_past_the_kept_are_counted(compiled):
    stream = Stream(RingBuffer(16), kept_runs=2)
    for k in range(5):  # a stalled producer: five short periods in a row
        stream.period(float(k))
    stream.ring.write(np.ones(BLOCK, np.float32))
    stream.period(5.0)  # a whole one
    for k in range(6, 8):
        stream.period(float(k))
    stream.period(8.0, status=native.PA_OUTPUT_UNDERFLOW)  # one flag between short periods
    stream.ring.write(np.ones(BLOCK, np.float32))
    stream.period(9.0)
    stream.period(10.0)
    assert (stream.short.count, stream.short.run_count) == (9, 3)
    assert stream.short.kept_runs() == [(0, 5), (6, 3)]  # the third run, callback 10, unkept
    assert stream.short.spans(BLOCK, 4) == [(0.0, 5.0), (6.0, 9.0)]
    assert stream.underflows.kept_runs() == [(8, 1)]


@pytest.mark.parametrize("frames", [2, 7, 8])
def test_a_period_other_than_the_block_plays_the_ring_in_order(compiled, frames):
    stream = Stream(RingBuffer(16))
    stream.ring.write(np.arange(1, 11, dtype=np.float32))
    played = stream.period(1.0, frames=frames)
    np.testing.assert_array_equal(played, np.repeat(np.arange(1, frames + 1)[:, None], CHANNELS, 1))
    assert stream.ring.read == frames and stream.short.count == 0


def test_underflows_are_counted_but_not_while_stopping(compiled):
    stream = Stream(RingBuffer(64))
    stream.ring.write(np.ones(40, np.float32))
    stream.period(0.0, status=native.PA_OUTPUT_UNDERFLOW)
    stream.period(0.1)
    stream.period(0.2, status=native.PA_OUTPUT_UNDERFLOW)
    stream.state[native.STOPPING] = 1
    stream.period(0.3, status=native.PA_OUTPUT_UNDERFLOW)
    assert stream.underflows.count == 2 and stream.underflows.callbacks() == [0, 2]
    assert stream.underflows.kept_runs() == [(0, 1), (2, 1)]  # not consecutive: two runs
    assert list(stream.trace.arrays()["flagged"]) == [True, False, True, False]


def test_each_period_is_stamped_with_the_stream_and_host_clocks(compiled):
    stream = Stream(RingBuffer(64))
    before = time.perf_counter()
    for k in range(10):  # past the trace's 8 kept: the oldest go
        stream.period(float(k))
    after = time.perf_counter()
    trace = stream.trace.arrays()
    np.testing.assert_array_equal(trace["called"], np.arange(2, 10))
    assert before <= trace["began"][0] and trace["ended"][-1] <= after  # perf_counter's clock
    assert np.all(trace["began"] <= trace["ended"]) and np.all(np.diff(trace["began"]) > 0)
