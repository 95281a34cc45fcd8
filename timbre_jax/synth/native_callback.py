"""The output stream's callback, compiled (a numba `cfunc` that PortAudio calls as C).

PortAudio's audio thread runs it once a period: it copies the ring buffer into every channel
of the period, counts underflows and underruns, and stamps the period for `CallbackTrace`,
without running Python. So it never waits for the GIL, which the producer (decoding hops),
the MIDI and OSC threads and the panel hold in turn (a thread holding it 8 ms every 100 ms
made 41-45 underflows in 8 s of a Python callback, none of this one's:
`launch/bench_gil_hold.py`).

It reaches the arrays it shares with Python through one table of their addresses
(`callback_table`), passed as PortAudio's user data. The arrays must outlive the stream.
The host clock it stamps with is `clock_gettime(CLOCK_MONOTONIC)`, which `time.perf_counter`
reads on Linux; on Windows the host stamps are NaN. Numba caches the compiled callback: the
first stream on a machine compiles it (about 2 s), later ones load it (0.4 s).
"""

from __future__ import annotations

import functools
import sys

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from timbre_jax.synth.callback_trace import CallbackTrace, Moments, add_moment, add_stamps
from timbre_jax.synth.ringbuffer import RingBuffer, read_ring

PA_OUTPUT_UNDERFLOW = 0x4  # PaStreamCallbackFlags: the device ran out of samples
PA_CONTINUE = 0  # PaStreamCallbackResult
# The table's slots: addresses of arrays, and the lengths that are not implied.
(RING, RING_CAPACITY, RING_COUNTERS, MONO, BLOCK, CHANNELS, STATE, UNDERFLOWS, UNDERFLOWS_COUNT,
 SHORT, SHORT_COUNT, KEPT_MOMENTS, CALLED, BEGAN, ENDED, FLAGGED, TRACE_COUNT, TRACE_KEPT,
 CLOCK) = range(19)  # fmt: skip
TABLE_SIZE = 19
# PaStreamCallback: input, output, frames, time info, status flags, user data
SIGNATURE = types.int32(types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64,
                        types.voidptr)  # fmt: skip
CALLBACKS, STOPPING = range(2)  # the state array: callbacks so far, whether a stop is under way


@intrinsic
def _pointer(typingctx, address):
    """An address (int64) as a void pointer."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


if sys.platform == "win32":  # no clock_gettime: the trace's host stamps are NaN

    @numba.njit(cache=True)
    def _now(scratch: int) -> float:
        return np.nan

else:
    # clock_gettime(clockid_t, struct timespec *), found by name in the C library
    CLOCK_GETTIME = types.int32(types.int32, types.voidptr)
    _clock_gettime = types.ExternalFunction("clock_gettime", CLOCK_GETTIME)
    MONOTONIC = 6 if sys.platform == "darwin" else 1  # CLOCK_MONOTONIC

    @numba.njit(cache=True)
    def _now(scratch: int) -> float:
        """The host's monotonic clock in seconds (`time.perf_counter`'s on Linux), using two
        int64 at the address `scratch`."""
        _clock_gettime(MONOTONIC, _pointer(scratch))
        seconds = numba.carray(_pointer(scratch), (2,), np.int64)
        return seconds[0] + 1e-9 * seconds[1]


@numba.njit
def _array(table: np.ndarray, slot: int, length: int, dtype) -> np.ndarray:
    """The array [length] of `dtype` whose address is at the table's `slot`."""
    return numba.carray(_pointer(table[slot]), (length,), dtype)


def _stream_callback(_input, output, frames, time_info, status, user_data):
    """PortAudio's output callback: `output` [frames, channels] float32 from the ring,
    `user_data` a `callback_table`."""
    table = numba.carray(user_data, (TABLE_SIZE,), np.int64)
    frames = np.int64(frames)  # from uint64: arithmetic with the table's int64 stays integer
    began = _now(table[CLOCK])
    state = _array(table, STATE, 2, np.int64)
    kept = table[KEPT_MOMENTS]
    underflow = (status & PA_OUTPUT_UNDERFLOW) != 0 and state[STOPPING] == 0  # stops flag some
    if underflow:
        add_moment(_array(table, UNDERFLOWS, kept, np.int64),
                    _array(table, UNDERFLOWS_COUNT, 1, np.int64), state[CALLBACKS])  # fmt: skip
    block = min(frames, table[BLOCK])  # PortAudio calls with the block size it was opened with
    mono = _array(table, MONO, block, np.float32)
    ring = _array(table, RING, table[RING_CAPACITY], np.float32)
    if read_ring(ring, _array(table, RING_COUNTERS, 3, np.int64), mono) < frames:
        add_moment(_array(table, SHORT, kept, np.int64), _array(table, SHORT_COUNT, 1, np.int64),
                    state[CALLBACKS])  # fmt: skip
    state[CALLBACKS] += 1
    channels = table[CHANNELS]
    out = numba.carray(output, (frames * channels,), np.float32)
    out[block * channels :] = 0.0
    for i in range(block):
        for c in range(channels):
            out[i * channels + c] = mono[i]
    n = table[TRACE_KEPT]
    called = numba.carray(time_info, (3,), np.float64)[1]  # PaStreamCallbackTimeInfo.currentTime
    add_stamps(_array(table, CALLED, n, np.float64), _array(table, BEGAN, n, np.float64),
               _array(table, ENDED, n, np.float64), _array(table, FLAGGED, n, np.bool_),
               _array(table, TRACE_COUNT, 1, np.int64), (called, began, _now(table[CLOCK])),
               underflow)  # fmt: skip
    return PA_CONTINUE


@functools.cache
def stream_callback() -> numba.core.ccallback.CFunc:
    """The compiled callback (its `.address` is PortAudio's), compiled or loaded from numba's
    cache on the first call. Kept for the process's life: a stream may call it until the
    process ends."""
    return numba.cfunc(SIGNATURE, cache=True)(_stream_callback)


def callback_table(ring: RingBuffer, mono: np.ndarray, channels: int, state: np.ndarray,
                   underflows: Moments, short: Moments,
                   trace: CallbackTrace) -> np.ndarray:  # fmt: skip
    """The table `stream_callback` reads [TABLE_SIZE] int64: the addresses of `ring`'s
    samples and counters, the callback's block `mono` [block] float32, `state` [2] int64
    (CALLBACKS, STOPPING), the `underflows` and `short` reads' moments (the same `kept`) and
    the `trace`'s arrays, with a clock's scratch space at the table's end."""
    assert len(underflows.callbacks) == len(short.callbacks)
    table = np.zeros(TABLE_SIZE + 2, np.int64)
    slots = {RING: ring.data, RING_COUNTERS: ring.counters, MONO: mono, STATE: state,
             UNDERFLOWS: underflows.callbacks, UNDERFLOWS_COUNT: underflows.counter,
             SHORT: short.callbacks, SHORT_COUNT: short.counter, CALLED: trace.called,
             BEGAN: trace.began, ENDED: trace.ended, FLAGGED: trace.flagged,
             TRACE_COUNT: trace.counter}  # fmt: skip
    for slot, array in slots.items():
        assert array.flags.c_contiguous
        table[slot] = array.ctypes.data
    lengths = (ring.capacity, len(mono), channels, len(short.callbacks), len(trace.called))
    table[[RING_CAPACITY, BLOCK, CHANNELS, KEPT_MOMENTS, TRACE_KEPT]] = lengths
    table[CLOCK] = table.ctypes.data + 8 * TABLE_SIZE
    return table
