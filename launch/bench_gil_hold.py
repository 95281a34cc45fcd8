"""Does a thread that holds the GIL make the audio stream late?

A JACK server on its dummy driver (`--rate`, 256-frame periods) and a shipped model holding an
8-note chord on `AudioOutput` for `--seconds`, while a thread of the same process holds the
GIL for `--hold` ms every 100 ms (a C `usleep` called without releasing it, as a long NumPy or
XLA call that keeps the GIL would). Each hold runs in a fresh process, holds alternate,
`--runs` times each.

With `--midi`, a second process sends a note on or off every 5 ms into the synth's MIDI
input (`MidiInput` on JACK MIDI), and the server's log names the clients that were late.

Prints per hold: PortAudio's underflows, ring underruns, the callback's wait to run (median /
p99 / max, `callback_trace.lateness`); with `--midi`, messages received and the server's xruns
by client.

Usage: python launch/bench_gil_hold.py [--model violin] [--holds 0 6 12] [--seconds 8] [--midi]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from timbre_jax.cli import ArgumentParser, command

CHORD = (55, 59, 62, 67, 71, 74, 79, 83)  # G3 B3 D4 G4 B4 D5 G5 B5
EVERY_SECONDS = 0.1  # how often the thread takes the GIL
SENDER = "gil_bench_sender"  # the sending process's JACK MIDI port
SEND_EVERY = 0.005  # seconds between its messages


def send_notes(seconds: float) -> None:
    """The sending process: a note on or off every SEND_EVERY on a virtual JACK MIDI port."""
    import mido

    from timbre_jax.synth.midi import backend

    with backend("UNIX_JACK").open_output(SENDER, virtual=True) as port:
        started = time.perf_counter()
        for k in range(round(seconds / SEND_EVERY)):
            port.send(mido.Message("note_on", note=60, velocity=100 * (k % 2)))
            time.sleep(max(0.0, started + (k + 1) * SEND_EVERY - time.perf_counter()))


@contextlib.contextmanager
def midi_traffic(seconds: float, received: list):
    """A sender process playing into this process's MIDI input for `seconds`; each message
    received is appended to `received`."""
    from timbre_jax.synth.midi import MidiInput, input_names

    sender = subprocess.Popen([sys.executable, __file__, "--send", str(seconds)])
    try:
        deadline = time.time() + 20
        while not (names := [n for n in input_names("UNIX_JACK") if SENDER in n]):
            assert time.time() < deadline and sender.poll() is None, "no sender port"
            time.sleep(0.1)
        port = MidiInput(received.append, names[0], api="UNIX_JACK")
        yield
        port.close()
    finally:
        sender.kill()
        sender.wait()


def hold_gil(milliseconds: float, stop: threading.Event) -> None:
    """Holds the GIL for `milliseconds` every EVERY_SECONDS until `stop` is set."""
    usleep = ctypes.PyDLL(None).usleep  # a PyDLL call keeps the GIL
    while not stop.wait(EVERY_SECONDS):
        if milliseconds:
            usleep(round(1e3 * milliseconds))


def one_hold(model: str, seconds: float, rate: int, milliseconds: float, midi: bool) -> dict:
    """Plays the chord for `seconds` beside the GIL holder (and MIDI traffic), here."""
    from timbre_jax.model.run import load_run, run_folder
    from timbre_jax.synth.audio_out import AudioOutput
    from timbre_jax.synth.callback_trace import lateness
    from timbre_jax.synth.engine import SynthEngine
    from timbre_jax.synth.session import Session

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: JACK
    from tests.support.jack import jack_dummy, server_xruns

    received: list = []
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "jackd.log"
        with jack_dummy(rate, log=log) as device:
            run = load_run(run_folder(model=model))
            session = Session(run, SynthEngine(run, voices=len(CHORD)))
            for pitch in CHORD:
                if run.plays(pitch):
                    session.note_on(pitch)
            output = session.output = AudioOutput(session, device=device, rate=rate)
            session.start()
            traffic = midi_traffic(seconds + 2, received) if midi else contextlib.nullcontext()
            with traffic:
                time.sleep(1.0)  # the stream's start, before the holds
                stop = threading.Event()
                holder = threading.Thread(target=hold_gil, args=(milliseconds, stop),
                                          daemon=True)  # fmt: skip
                underflows, underruns = output.device_underflows, output.underruns
                holder.start()
                time.sleep(seconds)
                stop.set()
                holder.join()
                underflows = output.device_underflows - underflows
                underruns = output.underruns - underruns
            session.close()
            summary = lateness(**output.trace.arrays(), period=output.period)
        xruns = dict(server_xruns(log.read_text()))
    return {"underflows": underflows, "ring_underruns": underruns, "wait_ms": summary["wait_ms"],
            "received": len(received), "xruns": xruns}  # fmt: skip


@command
def main(argv=None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="violin")
    parser.add_argument("--holds", type=float, nargs="+", default=[0, 6, 12], help="ms")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--midi", action="store_true", help="with MIDI traffic into the synth")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--send", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from timbre_jax.synth.audio_out import run_jax_inline

    run_jax_inline()  # as the synth's process runs JAX (before its first computation)
    if args.send is not None:  # the MIDI sender
        return send_notes(args.send)
    if args.child is not None:  # one hold, its result as the last line
        print(json.dumps(one_hold(args.model, args.seconds, args.rate, args.child, args.midi)))
        return
    for run in range(args.runs):
        for hold in args.holds:
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(hold), "--model", args.model,
                 "--seconds", str(args.seconds), "--rate", str(args.rate),
                 *(["--midi"] if args.midi else [])],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(child.stdout.splitlines()[-1])
            print(f"run {run + 1}, GIL held {hold:g} ms every {1e3 * EVERY_SECONDS:g} ms for "
                  f"{args.seconds:g} s: PortAudio underflows {r['underflows']}, ring underruns "
                  f"{r['ring_underruns']}; callback wait median / p99 / max "
                  f"{' / '.join(map(str, r['wait_ms']))} ms"
                  + (f"; MIDI received {r['received']}, the server's xruns {r['xruns']}"
                     if args.midi else ""))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
