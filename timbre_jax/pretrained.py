"""`python -m timbre_jax.pretrained export`: a run's best weights as a model `--model` plays.

    python -m timbre_jax.pretrained export --workdir runs/mine --name mine
    python -m timbre_jax.synth --model mine

Writes NAME into your models folder (`--models-dir`, default $TIMBRE_JAX_MODELS or
~/.local/share/timbre_jax/models), or into `--out`: the parameters in float16, refused if that
moves the test MSE by 1% or more, with the training embedding for the panel's pad (see
timbre_jax/training/export.py). An existing model is replaced only with `--overwrite`, and a
shipped one (results/pretrained) never. `--model NAME` finds your models before the shipped ones.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.model.run import MODELS_ENV, load_run, user_models_dir
from timbre_jax.training.export import check_target, export


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
    default_dir = f"${MODELS_ENV} or {user_models_dir()}"
    cmd.add_argument("--models-dir", type=Path, help=f"your models folder (default {default_dir})")
    cmd.add_argument("--out", type=Path, help="the folder to write (default: MODELS_DIR/NAME)")
    cmd.add_argument("--overwrite", action="store_true", help="replace an exported model")
    args = parser.parse_args(argv)
    out = args.out or (args.models_dir or user_models_dir()) / args.name
    check_target(out, overwrite=args.overwrite)  # before loading anything
    info = export(load_run(args.workdir), out, overwrite=args.overwrite)
    print(
        f"{args.name}: test MSE {info['test_mse_float32']:.4e} (float32), "
        f"{info['test_mse_float16']:.4e} (float16), change {100 * info['relative_change']:.3f}%; "
        f"written to {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
