"""Panel benchmark: does the open panel slow down audio production?

Plays a 4-note chord (C4 E4 G4 B4) while the latent point circles slowly (a knob being
turned, moved every 50 ms from the main thread), with `audio_out.Producer` keeping a ring
buffer ahead of a thread that drains it in 256-sample blocks at real-time pace (a stand-in
for the sound card). Alternates `--seconds` without the panel and as long with the panel
open and redrawing (offscreen Qt), `--rounds` times; prints each phase's per-hop compute
median and p99 (`engine.timing()`) and underruns, then the median p99 of each condition and
their ratio (the panel is cheap enough while it stays under 1.5).

Usage: python launch/bench_panel.py [--model one_octave | --workdir RUN] [--seconds 10]
       [--rounds 3]
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from timbre_jax.analysis.embedding import latent_span, training_embedding  # noqa: E402
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.model.run import load_run, run_folder  # noqa: E402
from timbre_jax.synth.audio_out import BLOCK_SIZE, SWITCH_INTERVAL, Producer, run_jax_inline  # noqa: E402
from timbre_jax.synth.engine import SynthEngine  # noqa: E402
from timbre_jax.synth.ringbuffer import RingBuffer  # noqa: E402
from timbre_jax.synth.session import Session  # noqa: E402

CHORD = (60, 64, 67, 71)
MOVE_SECONDS = 0.05


def drain(ring: RingBuffer, sample_rate: int, stop: threading.Event) -> None:
    """Reads `BLOCK_SIZE` samples every block period, as an audio callback would."""
    block = np.zeros(BLOCK_SIZE, np.float32)
    due = time.perf_counter()
    while not stop.is_set():
        due += BLOCK_SIZE / sample_rate
        time.sleep(max(0.0, due - time.perf_counter()))
        ring.read_into(block)


def circle(engine: SynthEngine, low, high, t: float) -> list[float]:
    """A point on a slow circle (one turn in 8 s) inside the span, for time t."""
    angle = 2 * np.pi * t / 8
    centre, radius = (low + high) / 2, 0.3 * (high - low)
    return list(centre + radius * np.resize([np.cos(angle), np.sin(angle)], engine.latent_dim))


def play(session: Session, seconds: float, main_thread) -> tuple[dict, int]:
    """Plays `seconds` with the producer and the drain running while `main_thread(seconds)`
    runs here; returns the engine's timing of those hops and the underruns."""
    engine = session.engine
    engine.reset()  # restarts the timing statistics
    ring = RingBuffer(8 * engine.hop_length)
    producer, stop = Producer(session, ring), threading.Event()
    consumer = threading.Thread(target=drain, args=(ring, engine.sample_rate, stop))
    producer.fill()
    producer.start()
    consumer.start()
    main_thread(seconds)
    stop.set()
    consumer.join()
    producer.stop()
    return engine.timing(), ring.underruns


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help="a shipped model (default one_octave)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase (<= 45)")
    parser.add_argument("--rounds", type=int, default=3, help="phases of each condition")
    args = parser.parse_args(argv)
    run_jax_inline()  # as the synth's process runs JAX (before its first computation)
    run = load_run(run_folder(workdir=args.workdir, model=args.model or
                              (None if args.workdir else "one_octave")))  # fmt: skip
    engine = SynthEngine(run)
    session = Session(run, engine)
    low, high = latent_span(run)
    for pitch in CHORD:
        session.note_on(pitch)
    sys.setswitchinterval(SWITCH_INTERVAL)  # as `AudioOutput.start` sets it
    gc.freeze()

    def turn_knob(seconds: float) -> None:
        started = time.perf_counter()
        while (t := time.perf_counter() - started) < seconds:
            session.set_latent(circle(engine, low, high, t))
            time.sleep(MOVE_SECONDS)

    import pyqtgraph as pg
    from pyqtgraph.Qt import QtCore

    from timbre_jax.synth.panel import SynthPanel

    app = pg.mkQApp("bench_panel")
    panel = SynthPanel(session, low=low, high=high, embedding=training_embedding(run))
    panel.resize(1100, 650)

    def run_panel(seconds: float) -> None:
        panel.show()
        started = time.perf_counter()
        knob = QtCore.QTimer()
        knob.timeout.connect(
            lambda: session.set_latent(circle(engine, low, high, time.perf_counter() - started))
        )
        knob.start(round(1000 * MOVE_SECONDS))
        QtCore.QTimer.singleShot(round(1000 * seconds), app.quit)
        app.exec()
        panel.hide()

    print(f"model {run.name}, chord of {len(CHORD)} voices, {args.rounds} rounds of "
          f"{args.seconds:g} s without and with the panel; hop "
          f"{1e3 * engine.hop_length / engine.sample_rate:.1f} ms")  # fmt: skip
    p99 = {"without panel": [], "with panel": []}
    for _ in range(args.rounds):
        for name, main_thread in (("without panel", turn_knob), ("with panel", run_panel)):
            timing, underruns = play(session, args.seconds, main_thread)
            p99[name].append(timing["p99_ms"])
            print(f"  {name:14s} per-hop compute: median {timing['median_ms']:.2f} ms, "
                  f"p99 {timing['p99_ms']:.2f} ms; {underruns} underruns")  # fmt: skip
    alone, with_panel = (float(np.median(p99[name])) for name in p99)
    print(f"median p99: without panel {alone:.2f} ms, with panel {with_panel:.2f} ms; "
          f"ratio {with_panel / alone:.2f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
