"""Data-parallel training over several JAX processes: a runnable example on one machine.

    python launch/multiprocess.py --processes 2 --devices-per-process 2 -- \\
        --config configs/default.py:smoke --workdir runs/multiprocess \\
        --config.corpus=data/corpora/tiny

starts `--processes` copies of `python -m timbre_jax.train` (arguments after `--`), each
with `--devices-per-process` CPU devices, joined by `jax.distributed.initialize` through a
coordinator on localhost. Together they form one mesh over all devices: the batch is sharded
over every device of every process, and process 0 writes the workdir's files.

On a cluster, run on each host i of N instead (one process per host, all its GPUs):

    python -m timbre_jax.train --config ... --workdir SHARED/runs/NAME \\
        --coordinator HOST0:PORT --num_processes N --process_id i
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys

from timbre_jax.cli import ArgumentParser, command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--devices-per-process", type=int, default=2)
    parser.add_argument(
        "train_args", nargs=argparse.REMAINDER, help="-- then timbre_jax.train flags"
    )
    args = parser.parse_args(argv)
    train_args = [a for a in args.train_args if a != "--"]
    coordinator = f"127.0.0.1:{free_port()}"
    env = os.environ | {
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={args.devices_per_process}",
        "JAX_PLATFORMS": "cpu",
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "timbre_jax.train",
                *train_args,
                f"--coordinator={coordinator}",
                f"--num_processes={args.processes}",
                f"--process_id={i}",
            ],
            env=env,
            stdout=None if i == 0 else subprocess.DEVNULL,
        )  # fmt: skip
        for i in range(args.processes)
    ]
    codes = [w.wait() for w in workers]
    print(f"worker exit codes: {codes}")
    return max(codes, key=abs)


if __name__ == "__main__":
    sys.exit(main())
