"""Hop response beside a busy neighbour: what the producer thread's real-time priority and
JAX's inline dispatch (`audio_out.realtime_thread`, `audio_out.run_jax_inline`) buy.

A shipped model holds an 8-note chord (the latent moving every 10 hops) and makes one hop every
hop period (23.2 ms), as the producer does; a hop's response is from when it was due to when
it was made (the thread's wake-up and the hop's compute), in ms. The producer keeps 17.5 ms of
sound ahead, so a response past that is a gap. Each arm runs in a process of its own (JAX's
dispatch is set per process): normal priority and async dispatch (the JAX default), real-time
priority alone, inline dispatch alone, and both. Unless `--alone`, a neighbour process
multiplies float32 matrices on every core throughout (numpy's BLAS, as a training run
would hold them).

Usage: python launch/bench_hop_priority.py [--model violin] [--seconds 30] [--repeats 2]
                                           [--alone]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from timbre_jax.cli import ArgumentParser, command

ARMS = {"normal": (False, False), "real-time": (True, False), "inline": (False, True),
        "both": (True, True)}  # fmt: skip
CHORD = (55, 59, 62, 67, 71, 74, 79, 83)  # G3 ... B5
NEIGHBOUR = ("import numpy as np\na = np.ones((1500, 1500), np.float32)\n"
             "while True:\n    a @ a")  # fmt: skip


def arm(model: str, seconds: float, realtime: bool, inline: bool) -> dict:
    """One arm in this process: response times (ms) of hops made every hop period."""
    from timbre_jax.synth import audio_out

    if inline:
        audio_out.run_jax_inline()
    from timbre_jax.model.run import load_run, run_folder
    from timbre_jax.synth.engine import SynthEngine

    engine = SynthEngine(load_run(run_folder(model=model)))
    for pitch in CHORD:
        engine.note_on(pitch, 100)
    for _ in range(50):  # compiled and warm
        engine.next_hop()
    granted = audio_out.realtime_thread() if realtime else False
    period = engine.hop_length / engine.sample_rate
    rng, response = np.random.default_rng(0), []
    start = time.perf_counter()
    for k in range(int(seconds / period)):
        due = start + k * period
        while (now := time.perf_counter()) < due:
            time.sleep(min(audio_out.POLL_SECONDS, due - now))
        if k % 10 == 0:
            engine.set_latent(rng.uniform(0.1, 0.9, engine.latent_dim))
        engine.next_hop()
        response.append(1e3 * (time.perf_counter() - due))
    return {"granted": granted, "response_ms": response}


def summary(response: list[float]) -> str:
    r = np.asarray(response)
    quantiles = " / ".join(f"{np.percentile(r, q):.1f}" for q in (50, 99, 99.9))
    return (f"{quantiles} / {r.max():.1f} ms; over 10 ms {int(np.sum(r > 10))}, over the "
            f"17.5 ms lead {int(np.sum(r > 17.5))}, of {len(r)}")  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="violin")
    parser.add_argument("--seconds", type=float, default=30.0, help="per arm and repeat")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the arms, alternated")
    parser.add_argument("--alone", action="store_true", help="no busy neighbour")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.arm:  # a child: one arm, its result on stdout
        print(json.dumps(arm(args.model, args.seconds, *ARMS[args.arm])))
        return 0
    neighbour = None if args.alone else subprocess.Popen([sys.executable, "-c", NEIGHBOUR])
    try:
        print(
            f"{args.model}, 8 voices, a hop every 23.2 ms for {args.seconds:g} s per arm, "
            f"{'alone' if args.alone else 'beside a neighbour multiplying matrices'}"
        )
        print("arm: response median / p99 / p99.9 / max")
        for repeat in range(args.repeats):
            for name in ARMS:
                out = subprocess.run([sys.executable, __file__, "--arm", name, "--model",
                                      args.model, "--seconds", str(args.seconds)],
                                     capture_output=True, text=True, check=True)  # fmt: skip
                result = json.loads(out.stdout.splitlines()[-1])
                refused = " (real-time refused)" if ARMS[name][0] and not result["granted"] else ""
                print(f"  {repeat + 1}. {name}{refused}: {summary(result['response_ms'])}",
                      flush=True)  # fmt: skip
    finally:
        if neighbour is not None:
            neighbour.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
