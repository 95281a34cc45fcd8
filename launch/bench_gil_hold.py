"""Does a thread that holds the GIL make the audio stream late?

A JACK server on its dummy driver (`--rate`, 256-frame periods) and a shipped model holding an
8-note chord on `AudioOutput` for `--seconds`, while a thread of the same process holds the
GIL for `--hold` ms every 100 ms (a C `usleep` called without releasing it, as a long NumPy or
XLA call that keeps the GIL would). Each hold runs in a fresh process, holds alternate,
`--runs` times each.

Prints per hold: PortAudio's underflows, ring underruns, and the callback's wait to run
(median / p99 / max, `callback_trace.lateness`).

Usage: python launch/bench_gil_hold.py [--model violin] [--holds 0 6 12] [--seconds 8]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from timbre_jax.cli import ArgumentParser, command

CHORD = (55, 59, 62, 67, 71, 74, 79, 83)  # G3 B3 D4 G4 B4 D5 G5 B5
EVERY_SECONDS = 0.1  # how often the thread takes the GIL


def hold_gil(milliseconds: float, stop: threading.Event) -> None:
    """Holds the GIL for `milliseconds` every EVERY_SECONDS until `stop` is set."""
    usleep = ctypes.PyDLL(None).usleep  # a PyDLL call keeps the GIL
    while not stop.wait(EVERY_SECONDS):
        if milliseconds:
            usleep(round(1e3 * milliseconds))


def one_hold(model: str, seconds: float, rate: int, milliseconds: float) -> dict:
    """Plays the chord for `seconds` beside the GIL holder, in this process."""
    from timbre_jax.model.run import load_run, run_folder
    from timbre_jax.synth.audio_out import AudioOutput
    from timbre_jax.synth.callback_trace import lateness
    from timbre_jax.synth.engine import SynthEngine
    from timbre_jax.synth.session import Session

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: JACK
    from tests.support.jack import jack_dummy

    with jack_dummy(rate) as device:
        run = load_run(run_folder(model=model))
        session = Session(run, SynthEngine(run, voices=len(CHORD)))
        for pitch in CHORD:
            if run.plays(pitch):
                session.note_on(pitch)
        output = session.output = AudioOutput(session, device=device, rate=rate)
        session.start()
        time.sleep(1.0)  # the stream's start, before the holds
        stop = threading.Event()
        holder = threading.Thread(target=hold_gil, args=(milliseconds, stop), daemon=True)
        underflows, underruns = output.device_underflows, output.underruns
        holder.start()
        time.sleep(seconds)
        stop.set()
        holder.join()
        underflows, underruns = output.device_underflows - underflows, output.underruns - underruns
        summary = lateness(**output.trace.arrays(), period=output.period)
        session.close()
    return {"underflows": underflows, "ring_underruns": underruns, "wait_ms": summary["wait_ms"]}


@command
def main(argv=None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="violin")
    parser.add_argument("--holds", type=float, nargs="+", default=[0, 6, 12], help="ms")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:  # one hold, its result as the last line
        print(json.dumps(one_hold(args.model, args.seconds, args.rate, args.child)))
        return
    for run in range(args.runs):
        for hold in args.holds:
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(hold), "--model", args.model,
                 "--seconds", str(args.seconds), "--rate", str(args.rate)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(child.stdout.splitlines()[-1])
            print(f"run {run + 1}, GIL held {hold:g} ms every {1e3 * EVERY_SECONDS:g} ms for "
                  f"{args.seconds:g} s: PortAudio underflows {r['underflows']}, ring underruns "
                  f"{r['ring_underruns']}; callback wait median / p99 / max "
                  f"{' / '.join(map(str, r['wait_ms']))} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
