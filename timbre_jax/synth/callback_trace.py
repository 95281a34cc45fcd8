"""Where an audio stream's time goes: each callback's timestamps, and what made a cycle late.

Under JACK every client runs once a server cycle (a period of `block_size` frames). A cycle is
late (an xrun) when some client has not finished when the server needs its output, and
PortAudio flags a callback's status as an output underflow. A `CallbackTrace` keeps, for each
of the last `kept` callbacks, the stream's clock when PortAudio called it
(`time_info.currentTime`: under JACK the server's cycle, from its frame time), the host clock
(`time.perf_counter`'s) when the callback's body began and ended, and its underflow flag.
`lateness` reads them as:
- wait: from PortAudio's call to the body, beyond the two clocks' offset: the time the
  callback's thread waited to run (and, for a Python callback, for the GIL). The offset
  steps when PortAudio's stream clock resyncs after an xrun, so it is taken as the larger of
  the least delays in the `BASELINE_SECONDS` before and after each callback (both include
  it): a step is not a wait;
- body: the body's own time;
- late cycle: the stream clock's step from the callback before over one and a half periods,
  with the host clock's step as long (a resync of the stream clock alone is not one): a
  server cycle that came late;
and sorts every flagged underflow by what was late in the callbacks just before it (the one
flagged and the two before): ours (wait + body over a period), the server's cycle (a gap over
half a period), or neither (another client of the server).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from timbre_jax.synth.native_callback import MOMENTS, RUNS, add_stamps

KEPT = 1 << 15  # callbacks a trace keeps: 175 s of 256-frame periods at 48 kHz
LOOK_BACK = 2  # callbacks before a flagged one that may have made it late
BASELINE_SECONDS = 0.2  # spans whose least call-to-body delay is the clocks' offset


class Moments:
    """When something happened in the audio callback, as runs of consecutive callbacks: how
    many callbacks, how many runs, and the first callback and length of the first `kept` runs
    (preallocated: the compiled callback adds with `add_moment`). A host stall of 0.5 s is one
    run of a hundred short callbacks, not a hundred events."""

    def __init__(self, kept: int = 64):
        self.runs = np.zeros((2, kept), np.int64)  # each kept run's first callback; length
        self.counter = np.zeros(3, np.int64)  # callbacks, runs, the last callback added

    @property
    def count(self) -> int:
        """Callbacks it happened in."""
        return int(self.counter[MOMENTS])

    @property
    def run_count(self) -> int:
        return int(self.counter[RUNS])

    def kept_runs(self) -> list[tuple[int, int]]:
        """(first callback, callbacks) of each kept run, in order."""
        n = min(self.run_count, self.runs.shape[1])
        return [(int(first), int(length)) for first, length in self.runs[:, :n].T]

    def callbacks(self) -> list[int]:
        """Every callback of the kept runs."""
        return [first + k for first, length in self.kept_runs() for k in range(length)]

    def spans(self, block_size: int, sample_rate: int) -> list[tuple[float, float]]:
        """(start, end) of each kept run, in seconds of the stream."""
        period = block_size / sample_rate
        return [(first * period, (first + length) * period) for first, length in self.kept_runs()]


class CallbackTrace:
    """Per-callback timestamps, preallocated: the audio callback (compiled, or Python with
    `add`) writes without allocating; past `kept` callbacks the oldest are overwritten."""

    def __init__(self, kept: int = KEPT):
        self.called, self.began, self.ended = (np.zeros(kept) for _ in range(3))
        self.flagged = np.zeros(kept, np.bool_)
        self.counter = np.zeros(1, np.int64)  # callbacks ever added

    @property
    def count(self) -> int:
        return int(self.counter[0])

    def add(self, called: float, began: float, ended: float, flagged: bool) -> None:
        """One callback: the stream's time of the call, the host's when its body began and
        ended (seconds), and whether its status flagged an output underflow."""
        add_stamps(self.called, self.began, self.ended, self.flagged, self.counter,
                   (called, began, ended), bool(flagged))  # fmt: skip

    def arrays(self) -> dict[str, np.ndarray]:
        """The kept callbacks, oldest first: called, began, ended [n] seconds, flagged [n]."""
        n = min(self.count, len(self.called))
        order = (np.arange(n) + self.count - n) % len(self.called)
        return {"called": self.called[order], "began": self.began[order],
                "ended": self.ended[order], "flagged": self.flagged[order]}  # fmt: skip

    def save(self, path: str | Path, *, period: float) -> None:
        """Writes the kept callbacks and the stream's `period` (seconds) to `path`, an .npz
        archive under exactly that name."""
        with open(path, "wb") as file:  # np.savez would add ".npz" to a name without it
            np.savez(file, period=period, **self.arrays())


def lateness(called: np.ndarray, began: np.ndarray, ended: np.ndarray, flagged: np.ndarray,
             period: float) -> dict:  # fmt: skip
    """What the timestamps of a stream's callbacks (`CallbackTrace.arrays`) say, in ms.

    Returns: callbacks; wait and body as (median, p99, max) ms; late_cycles (server cycle gaps
    over half a period); underflows, and how many of them were ours, the server's or
    neither's (`ours`, `server`, `other`)."""
    if len(called) < 2:
        return {"callbacks": len(called), "underflows": int(np.sum(flagged))}
    offset = began - called
    span = max(2, round(BASELINE_SECONDS / period))
    least = [
        np.lib.stride_tricks.sliding_window_view(np.pad(offset, pad, mode="edge"), span).min(axis=1)
        for pad in ((span - 1, 0), (0, span - 1))
    ]  # before, after
    wait, body = offset - np.maximum(*least), ended - began
    late = (np.diff(called) > 1.5 * period) & (np.diff(began) > 1.5 * period)
    ours, server = wait + body > period, np.concatenate([[False], late])
    blame = {"ours": 0, "server": 0, "other": 0}
    for k in np.flatnonzero(flagged):
        around = slice(max(0, k - LOOK_BACK), k + 1)
        key = "ours" if ours[around].any() else "server" if server[around].any() else "other"
        blame[key] += 1
    spread = lambda x: tuple(round(1e3 * float(v), 2) for v in  # noqa: E731
                             (np.median(x), np.percentile(x, 99), x.max()))  # fmt: skip
    return {"callbacks": len(called), "wait_ms": spread(wait), "body_ms": spread(body),
            "late_cycles": int(server.sum()), "underflows": int(np.sum(flagged)),
            **blame}  # fmt: skip


def describe(summary: dict) -> str:
    """One line of `lateness`'s summary."""
    if "wait_ms" not in summary:
        return f"{summary['callbacks']} callbacks traced"
    return (f"{summary['callbacks']} callbacks: wait to run median / p99 / "
            f"max {' / '.join(map(str, summary['wait_ms']))} ms, body "
            f"{' / '.join(map(str, summary['body_ms']))} ms; server cycles late "
            f"{summary['late_cycles']}; underflows {summary['underflows']}: ours "
            f"{summary['ours']}, the server's {summary['server']}, another client's "
            f"{summary['other']}")  # fmt: skip
