"""`python -m timbre_jax.pretrained export`: ship a run's best weights as a pretrained model.

    python -m timbre_jax.pretrained export --workdir runs/default --name one_octave
    python -m timbre_jax.synth --model one_octave

Writes results/pretrained/NAME (or `--out`): the parameters in float16, refused if that moves
the test MSE by 1% or more, with the training embedding for the panel's pad (see
timbre_jax/training/export.py). Shipped models are found in the repository's
results/pretrained (an editable or source install).
"""

from __future__ import annotations

import argparse
import re
import sys

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.model.run import PRETRAINED_DIR, load_run
from timbre_jax.training.export import export


def model_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise argparse.ArgumentTypeError(f"a model name is letters, digits, _ and -: {text!r}")
    return text


@command
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m timbre_jax.pretrained", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("export", help="store a run's best weights as a pretrained model")
    cmd.add_argument("--workdir", required=True, help="the run to export")
    cmd.add_argument("--name", required=True, type=model_name, help="e.g. one_octave")
    cmd.add_argument("--out", help="folder to write (default: results/pretrained/NAME)")
    args = parser.parse_args(argv)
    info = export(load_run(args.workdir), args.out or PRETRAINED_DIR / args.name)
    print(
        f"{args.name}: test MSE {info['test_mse_float32']:.4e} (float32), "
        f"{info['test_mse_float16']:.4e} (float16), change {100 * info['relative_change']:.3f}%"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
