"""Missed audio periods: when does the output callback come late, with and without
transparent huge pages?

Each arm runs in a fresh process: a JACK server on its dummy driver (`--rate`, 256-frame
periods), a shipped model holding an 8-note chord on `AudioOutput` for `--seconds`, every
callback stamped with the host clock. `forbidden` is what `AudioOutput.start` does (no
transparent huge pages, so khugepaged leaves the process alone); `allowed` turns them back on
right after the start, as before that change. Arms alternate, `--runs` times each.

Prints per arm: callbacks that came more than 1.5 periods after the one before (a missed
period) and when, the spacing between them, PortAudio's underflows, ring underruns, and the
engine's hop time; and the host's khugepaged scan interval, the period to look for.

Usage: python launch/callback_gaps.py [--model violin] [--seconds 40] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from timbre_jax.cli import ArgumentParser, command

SCAN_SLEEP = Path("/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs")
CHORD = (55, 59, 62, 67, 71, 74, 79, 83)  # G3 B3 D4 G4 B4 D5 G5 B5


def arm(model: str, seconds: float, rate: int, huge_pages: bool) -> dict:
    """One arm in this process: the callback times (s from the stream's start) and counts."""
    from timbre_jax.model.run import load_run, run_folder
    from timbre_jax.synth.audio_out import AudioOutput, transparent_huge_pages
    from timbre_jax.synth.engine import SynthEngine
    from timbre_jax.synth.session import Session

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: JACK
    from tests.support.jack import jack_dummy

    with jack_dummy(rate) as device:
        run = load_run(run_folder(model=model))
        engine = SynthEngine(run, voices=len(CHORD))
        session = Session(run, engine)
        for pitch in CHORD:
            if run.plays(pitch):
                session.note_on(pitch)
        output = session.output = AudioOutput(session, device=device, rate=rate)
        session.start()
        if huge_pages:
            transparent_huge_pages(True)
        time.sleep(seconds)
        session.close()
    times = output.trace.arrays()["began"]  # when each callback began, host clock
    times = times - times[0]
    late = np.flatnonzero(np.diff(times) > 1.5 * 256 / rate) + 1
    return {"late_at": times[late].round(3).tolist(),
            "late_ms": (1e3 * (times[late] - times[late - 1])).round(1).tolist(),
            "underflows": output.device_underflows, "ring_underruns": output.underruns,
            "hop_ms": engine.timing()}  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="violin")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--arm", choices=["allowed", "forbidden"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from timbre_jax.synth.audio_out import run_jax_inline

    run_jax_inline()  # as the synth's process runs JAX (before its first computation)
    if args.arm:  # a child: one arm, its result as the last line
        print(json.dumps(arm(args.model, args.seconds, args.rate, args.arm == "allowed")))
        return
    if SCAN_SLEEP.is_file():
        print(f"khugepaged scans every {int(SCAN_SLEEP.read_text()) / 1e3:g} s (+ its scan)")
    for run in range(args.runs):
        for name in ("allowed", "forbidden"):
            child = subprocess.run(
                [sys.executable, __file__, "--arm", name, "--model", args.model,
                 "--seconds", str(args.seconds), "--rate", str(args.rate)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(child.stdout.splitlines()[-1])
            spacing = np.diff(r["late_at"]).round(2).tolist()
            print(f"run {run + 1}, huge pages {name}: {len(r['late_at'])} missed periods in "
                  f"{args.seconds:g} s at {r['late_at']} s ({r['late_ms']} ms late; spacing "
                  f"{spacing} s); PortAudio underflows {r['underflows']}, ring underruns "
                  f"{r['ring_underruns']}; hop {r['hop_ms']['median_ms']:.2f} ms median, "
                  f"{r['hop_ms']['p99_ms']:.2f} p99")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
