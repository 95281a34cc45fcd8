"""The callback trace: what each callback's timestamps say about a late cycle."""

import numpy as np
import pytest

from timbre_jax.synth.callback_trace import CallbackTrace, describe, lateness

PERIOD = 256 / 48000


def steady(n: int = 100, offset: float = 7.0) -> dict:
    """n callbacks a period apart, each run 0.1 ms after PortAudio's call for 0.2 ms."""
    called = np.arange(n) * PERIOD
    began = called + offset + 1e-4
    return {"called": called, "began": began, "ended": began + 2e-4,
            "flagged": np.zeros(n, bool)}  # fmt: skip


def test_a_steady_stream_has_no_wait_and_nothing_late():
    summary = lateness(**steady(), period=PERIOD)
    assert summary["wait_ms"] == (0.0, 0.0, 0.0) and summary["body_ms"][0] == pytest.approx(0.2)
    assert summary["late_cycles"] == summary["underflows"] == 0


@pytest.mark.parametrize("steps", [[(1000, -0.05)], [(1000, 0.05)], [(900, -0.05), (1000, 0.05)]])
def test_steps_of_the_stream_clock_are_neither_waits_nor_late_cycles(steps):
    trace = steady(n=2000)
    for at, seconds in steps:  # PortAudio's stream clock resyncs, back or forward
        trace["called"][at:] += seconds
    summary = lateness(**trace, period=PERIOD)
    assert summary["wait_ms"] == (0.0, 0.0, 0.0) and summary["late_cycles"] == 0


def test_each_underflow_is_blamed_on_what_was_late_before_it():
    trace = steady()
    trace["began"][20] += 1.5 * PERIOD  # our callback waited for the GIL a period and a half
    trace["ended"][20] += 1.5 * PERIOD
    trace["flagged"][21] = True
    trace["called"][50:] += PERIOD  # the server's cycle came a period late
    trace["began"][50:] += PERIOD
    trace["ended"][50:] += PERIOD
    trace["flagged"][51] = True
    trace["flagged"][80] = True  # nothing of ours or the server's: another client
    summary = lateness(**trace, period=PERIOD)
    assert (summary["ours"], summary["server"], summary["other"]) == (1, 1, 1)
    assert summary["late_cycles"] == 1 and summary["wait_ms"][2] == pytest.approx(1.5e3 * PERIOD)
    assert "underflows 3: ours 1, the server's 1, another client's 1" in describe(summary)


def test_the_trace_keeps_the_latest_callbacks_in_order(tmp_path):
    trace = CallbackTrace(kept=8)
    for k in range(13):
        trace.add(k * PERIOD, 10.0 + k * PERIOD, 10.0 + k * PERIOD + 1e-4, k == 11)
    kept = trace.arrays()
    assert np.allclose(kept["called"], np.arange(5, 13) * PERIOD)
    assert np.flatnonzero(kept["flagged"]).tolist() == [6]
    trace.save(tmp_path / "trace.npz", period=PERIOD)
    saved = np.load(tmp_path / "trace.npz")
    assert float(saved["period"]) == PERIOD and np.array_equal(saved["called"], kept["called"])
