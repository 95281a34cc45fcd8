"""`python -m timbre_jax.train`: train a model from a config file into a workdir.

    python -m timbre_jax.train --config configs/default.py --workdir runs/default \\
        [--config.train.epochs=3] [--config.corpus=data/corpora/mine]
    python -m timbre_jax.train --config configs/paper.py:table3_sigmoid_skip --workdir runs/t3ss

`--config` is a config file, with `:ARG` for a file that takes one (a row of
configs/paper.py); `--config.FIELD=VALUE` overrides a field. A run resumes from its workdir's
latest checkpoint when the same command is given again. Multi-host: `--coordinator HOST:PORT
--num_processes N --process_id I` on each host (see launch/multiprocess.py).
"""

from __future__ import annotations

import sys

from timbre_jax.cli import ArgumentParser, Interrupted, command
from timbre_jax.model.checkpoint import latest_epoch
from timbre_jax.training import distributed
from timbre_jax.training.config import apply_overrides, load_config
from timbre_jax.training.loop import train_and_evaluate


@command
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m timbre_jax.train", description=__doc__)
    parser.add_argument("--config", required=True, help="a config file.py[:ARG]")
    parser.add_argument("--workdir", required=True, help="folder for everything the run makes")
    parser.add_argument("--coordinator", help="multi-host: HOST:PORT of process 0")
    parser.add_argument("--num_processes", type=int, default=1, help="multi-host: processes")
    parser.add_argument("--process_id", type=int, default=0, help="multi-host: this process")
    args, overrides = parser.parse_known_args(argv)
    config = load_config(args.config)
    apply_overrides(config, overrides)
    if args.coordinator:
        distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    from absl import logging  # Orbax logs every save at INFO

    logging.set_verbosity(logging.WARNING)
    try:
        train_and_evaluate(config, args.workdir)
    except KeyboardInterrupt as err:
        epoch = latest_epoch(args.workdir)
        raise Interrupted(
            "nothing was saved yet: run the same command to start again"
            if epoch is None
            else f"run the same command to resume after epoch {epoch}"
        ) from err
    return 0


if __name__ == "__main__":
    sys.exit(main())
