"""What every `python -m timbre_jax.*` command shares: one-line errors and exit code 2.

A mistake in what the user typed (a flag, a file, a config field) prints `error: ...` on
stderr and exits with status 2, without a traceback, whether argparse or the code below it
(a `ParameterError`) finds it.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from timbre_jax.errors import ParameterError

USAGE_ERROR = 2  # exit status of a command given bad input


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line: `error: MESSAGE (see --help)`."""

    def parse_args(self, args=None, namespace=None, *, dash_values=()):
        """As argparse's, but each option in `dash_values` takes a value that starts with a
        dash (`--latent -0.1,0.5`, which argparse would read as an unknown option)."""
        args = list(sys.argv[1:] if args is None else args)
        joined = []
        for arg in args:
            if joined and joined[-1] in dash_values and arg.startswith("-") and arg[1:2] != "-":
                joined[-1] = f"{joined[-1]}={arg}"
            else:
                joined.append(arg)
        return super().parse_args(joined, namespace)

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"error: {message} (see {self.prog} --help)\n")


def command(main: Callable[[list[str] | None], int | None]) -> Callable[[list[str] | None], int]:
    """Wraps a command's `main(argv)`: returns its exit status, or prints a `ParameterError`
    as one line and returns 2."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv) or 0
        except ParameterError as err:
            print(f"error: {err}", file=sys.stderr)
            return USAGE_ERROR

    return run
