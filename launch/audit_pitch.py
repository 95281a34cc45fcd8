"""What a listener hears a model play across the pad: pYIN on held notes rendered through the
engine at random pad points, for each phase method (timbre_jax/evaluation/pitch_audit.py).

    python launch/audit_pitch.py --model keys --points 25 [--phase harmonic] [--json out.json]
    python launch/audit_pitch.py --workdir runs/pitch_e10/violin_both --points 12
    python launch/audit_pitch.py --model keys --grid 3 --phase harmonic

Prints, per phase method: the share of cases heard as the key pressed, as its pitch class,
with no pitch; the median and largest |deviation| in cents of those heard as the key; the
loudest power below 20 Hz against the total. One trained key of every pitch class is held,
in a random trained octave, at each point; the same seed gives the same points and keys.
With --grid N, every trained key is held at each point of an N x N grid over 0.05-0.95 of
each axis instead, so the pad's corners are heard too (2-D models).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.errors import ParameterError
from timbre_jax.evaluation.pitch_audit import IN_TUNE_CENTS, audit_run
from timbre_jax.model.run import load_run, run_folder
from timbre_jax.progress import progress_bar


def summary_line(method: str, s: dict) -> str:
    return (f"{method:9s} key {s['exact']:.3f}  class {s['pitch_class']:.3f}  no pitch "
            f"{s['no_pitch']:.3f}  cents median {s['median_abs_cents']:.1f} max "
            f"{s['max_abs_cents']:.1f}  below 20 Hz {s['max_rumble_db']:.1f} dB  "
            f"({s['cases']} cases, {len(s['misses'])} missed or off by more than "
            f"{IN_TUNE_CENTS} cents)")  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help="a shipped model")
    parser.add_argument("--points", type=int, default=25, help="random pad points")
    parser.add_argument("--grid", type=int, help="every trained key at an N x N pad grid")
    parser.add_argument("--phase", nargs="*", help="phase methods (default: all it can use)")
    parser.add_argument("--seconds", type=float, default=1.0, help="each note held")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    run = load_run(run_folder(workdir=args.workdir, model=args.model))
    start = time.perf_counter()
    try:
        result = audit_run(run, points=args.points, grid=args.grid, phases=args.phase,
                           seconds=args.seconds, seed=args.seed,
                           progress=lambda c: progress_bar(c, desc="pyin"))  # fmt: skip
    except ParameterError as error:
        parser.error(str(error))
    print(f"{run.name}: {len(result['points'])} pad points x keys {result['notes']} "
          f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    for method, summary in result.items():
        if isinstance(summary, dict):
            print(summary_line(method, summary))
            for miss in summary["misses"]:
                print(f"  miss: {miss}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
