"""The output stream's callback, compiled (a numba `cfunc` that PortAudio calls as C).

PortAudio's audio thread runs it once a period: it copies the ring buffer into every channel
of the period, counts underflows and underruns, and stamps the period for `CallbackTrace`,
without running Python. So it never waits for the GIL, which the producer (decoding hops),
the MIDI and OSC threads and the panel hold in turn (a thread holding it 8 ms every 100 ms
made 41-45 underflows in 8 s of a Python callback, none of this one's:
`launch/bench_gil_hold.py`).

It reaches the arrays it shares with Python through one table of their addresses
(`callback_table`), passed as PortAudio's user data; the arrays must outlive the stream.
Everything it runs is in this file: numba's cache, which this callback uses (the first stream
on a machine compiles it in about 2 s, later ones load it in 0.4 s), is keyed by this file
alone, so a kernel elsewhere could change without the cached callback seeing it. The ring's
two sides publish their counters behind memory fences (`publish`), for CPUs that reorder
stores (ARM). Host stamps are `clock_gettime`'s, the clock `time.perf_counter` reads (on
Linux CLOCK_MONOTONIC, on macOS CLOCK_UPTIME_RAW); on Windows they are NaN.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

if TYPE_CHECKING:
    from timbre_jax.synth.callback_trace import CallbackTrace, Moments
    from timbre_jax.synth.ringbuffer import RingBuffer

PA_OUTPUT_UNDERFLOW = 0x4  # PaStreamCallbackFlags: the device ran out of samples
PA_CONTINUE = 0  # PaStreamCallbackResult
# The table's slots: addresses of arrays, and the lengths that are not implied.
(RING, RING_CAPACITY, RING_COUNTERS, MONO, BLOCK, CHANNELS, STATE, UNDERFLOWS, UNDERFLOWS_COUNT,
 SHORT, SHORT_COUNT, KEPT_MOMENTS, CALLED, BEGAN, ENDED, FLAGGED, TRACE_COUNT, TRACE_KEPT,
 CLOCK) = range(19)  # fmt: skip
TABLE_SIZE = 19
CALLBACKS, STOPPING = range(2)  # the state array: callbacks so far, whether a stop is under way
MOMENTS, RUNS, LAST = range(3)  # a `Moments` counter: callbacks, runs, the last callback
# a ring's counters: samples ever written, ever read, reads that found fewer samples than asked
# for, and the samples those reads were short of (zeros played)
WRITTEN, READ, UNDERRUNS, MISSING = range(4)
RING_COUNTERS_SIZE = 4
# PaStreamCallback: input, output, frames, time info, status flags, user data; frames and flags
# are C `unsigned long`s, 32 bits on Windows
ULONG = types.uint32 if sys.platform == "win32" else types.uint64
SIGNATURE = types.int32(types.voidptr, types.voidptr, ULONG, types.voidptr, ULONG,
                        types.voidptr)  # fmt: skip
KERNEL = {"cache": True, "error_model": "numpy"}  # numpy's: no exception (and no GIL) on a /0


@intrinsic
def _pointer(typingctx, address):
    """An address (int64) as a void pointer."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


@intrinsic
def _fence(typingctx):
    """A sequentially consistent memory fence: no load or store moves across it."""

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.none(), codegen


@numba.njit(**KERNEL)
def publish(counters: np.ndarray, which: int, n: int) -> None:
    """Advances `counters[which]` by `n` after every store before it is visible."""
    _fence()
    counters[which] += n


@numba.njit(**KERNEL)
def read_ring(data: np.ndarray, counters: np.ndarray, out: np.ndarray) -> int:
    """Fills `out` [n] from the ring `data` [capacity] and its `counters` (consumer side),
    zeros past what is available; returns samples read."""
    capacity = len(data)
    written = counters[WRITTEN]
    _fence()  # the samples are read after the count that publishes them
    n = min(len(out), written - counters[READ])
    start = counters[READ] % capacity
    for i in range(n):
        out[i] = data[(start + i) % capacity]
    out[n:] = 0.0
    publish(counters, READ, n)
    if n < len(out):
        counters[UNDERRUNS] += 1
        counters[MISSING] += len(out) - n
    return n


@numba.njit(**KERNEL)
def add_moment(runs: np.ndarray, counter: np.ndarray, callback: int) -> None:
    """Counts `callback` in `counter` [3] (MOMENTS, RUNS, LAST); one that does not follow the
    last added starts a run. `runs` [2 * kept] holds the kept runs' first callbacks, then
    their lengths."""
    kept = len(runs) // 2
    if counter[MOMENTS] == 0 or callback != counter[LAST] + 1:
        if counter[RUNS] < kept:
            runs[counter[RUNS]] = callback
        counter[RUNS] += 1
    if counter[RUNS] <= kept:
        runs[kept + counter[RUNS] - 1] += 1
    counter[MOMENTS] += 1
    counter[LAST] = callback


@numba.njit(**KERNEL)
def add_stamps(called: np.ndarray, began: np.ndarray, ended: np.ndarray, flagged: np.ndarray,
               counter: np.ndarray, stamps: tuple, underflow: bool) -> None:  # fmt: skip
    """Writes one callback's `stamps` (called, began, ended: seconds) and `underflow` flag over
    the oldest kept, and counts it in `counter` [1]."""
    i = counter[0] % len(called)
    called[i], began[i], ended[i] = stamps
    flagged[i] = underflow
    counter[0] += 1


if sys.platform == "win32":  # no clock_gettime: the trace's host stamps are NaN

    @numba.njit(**KERNEL)
    def _now(scratch: int) -> float:
        return np.nan

else:
    # clock_gettime(clockid_t, struct timespec *), found by name in the C library
    CLOCK_GETTIME = types.int32(types.int32, types.voidptr)
    _clock_gettime = types.ExternalFunction("clock_gettime", CLOCK_GETTIME)
    PERF_COUNTER_CLOCK = 8 if sys.platform == "darwin" else 1  # UPTIME_RAW; MONOTONIC

    @numba.njit(**KERNEL)
    def _now(scratch: int) -> float:
        """The host's clock in seconds, `time.perf_counter`'s, using two int64 at the address
        `scratch`."""
        _clock_gettime(PERF_COUNTER_CLOCK, _pointer(scratch))
        seconds = numba.carray(_pointer(scratch), (2,), np.int64)
        return seconds[0] + 1e-9 * seconds[1]


@numba.njit(**KERNEL)
def _array(table: np.ndarray, slot: int, length: int, dtype) -> np.ndarray:
    """The array [length] of `dtype` whose address is at the table's `slot`."""
    return numba.carray(_pointer(table[slot]), (length,), dtype)


def _stream_callback(_input, output, frames, time_info, status, user_data):
    """PortAudio's output callback: `output` [frames, channels] float32 from the ring, a block
    at a time, `user_data` a `callback_table`."""
    table = numba.carray(user_data, (TABLE_SIZE,), np.int64)
    frames = np.int64(frames)  # from unsigned: arithmetic with the table's int64 stays integer
    began = _now(table[CLOCK])
    state = _array(table, STATE, 2, np.int64)
    kept = table[KEPT_MOMENTS]
    underflow = (status & PA_OUTPUT_UNDERFLOW) != 0 and state[STOPPING] == 0  # stops flag some
    if underflow:
        add_moment(_array(table, UNDERFLOWS, 2 * kept, np.int64),
                   _array(table, UNDERFLOWS_COUNT, 3, np.int64), state[CALLBACKS])  # fmt: skip
    mono = _array(table, MONO, table[BLOCK], np.float32)
    ring = _array(table, RING, table[RING_CAPACITY], np.float32)
    counters = _array(table, RING_COUNTERS, RING_COUNTERS_SIZE, np.int64)
    channels = table[CHANNELS]
    out = numba.carray(output, (frames * channels,), np.float32)
    short = False
    for first in range(0, frames, len(mono)):  # PortAudio passes the block it was opened with
        block = mono[: min(len(mono), frames - first)]
        short |= read_ring(ring, counters, block) < len(block)
        for i in range(len(block)):
            for c in range(channels):
                out[(first + i) * channels + c] = block[i]
    if short:
        add_moment(_array(table, SHORT, 2 * kept, np.int64),
                   _array(table, SHORT_COUNT, 3, np.int64), state[CALLBACKS])  # fmt: skip
    state[CALLBACKS] += 1
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
    return numba.cfunc(SIGNATURE, **KERNEL)(_stream_callback)


def callback_table(ring: RingBuffer, mono: np.ndarray, channels: int, state: np.ndarray,
                   underflows: Moments, short: Moments,
                   trace: CallbackTrace) -> np.ndarray:  # fmt: skip
    """The table `stream_callback` reads [TABLE_SIZE] int64: the addresses of `ring`'s
    samples and counters, the callback's block `mono` [block] float32, `state` [2] int64
    (CALLBACKS, STOPPING), the `underflows` and `short` reads' moments (the same `kept`) and
    the `trace`'s arrays, with a clock's scratch space at the table's end."""
    lengths = (ring.capacity, len(mono), channels, short.runs.shape[1], len(trace.called))
    if min(lengths) <= 0 or underflows.runs.shape != short.runs.shape:
        raise ValueError(f"a callback table needs arrays of positive lengths, got {lengths}")
    table = np.zeros(TABLE_SIZE + 2, np.int64)
    slots = {RING: ring.data, RING_COUNTERS: ring.counters, MONO: mono, STATE: state,
             UNDERFLOWS: underflows.runs, UNDERFLOWS_COUNT: underflows.counter,
             SHORT: short.runs, SHORT_COUNT: short.counter, CALLED: trace.called,
             BEGAN: trace.began, ENDED: trace.ended, FLAGGED: trace.flagged,
             TRACE_COUNT: trace.counter}  # fmt: skip
    for slot, array in slots.items():
        if not array.flags.c_contiguous:
            raise ValueError(f"the callback's arrays must be contiguous (slot {slot})")
        table[slot] = array.ctypes.data
    table[[RING_CAPACITY, BLOCK, CHANNELS, KEPT_MOMENTS, TRACE_KEPT]] = lengths
    table[CLOCK] = table.ctypes.data + 8 * TABLE_SIZE
    return table
