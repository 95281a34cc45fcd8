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
