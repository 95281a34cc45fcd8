"""What every `python -m timbre_jax.*` command shares: one-line errors and exit code 2, and
one line on Ctrl-C.

A mistake in what the user typed (a flag, a file, a config field) prints `error: ...` on
stderr and exits with status 2, without a traceback, whether argparse or the code below it
(a `ParameterError`) finds it. Ctrl-C (SIGINT) prints `interrupted` and what to do next (an
`Interrupted` raised below says it) and exits with status 130, as a shell reports a SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable

from timbre_jax.errors import ParameterError

USAGE_ERROR = 2  # exit status of a command given bad input
INTERRUPTED = 130  # exit status after Ctrl-C: 128 + SIGINT


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the user can do next (e.g. how to resume)."""

    def __init__(self, next_step: str):
        super().__init__(next_step)
        self.next_step = next_step


_asked_to_stop = threading.Event()  # set by a deferred Ctrl-C (`deferred_interrupts`)


@contextlib.contextmanager
def deferred_interrupts():
    """Within the block, a first Ctrl-C only asks to stop: work that compiled code must not be
    interrupted in (numba's pYIN crashed the process) calls `stop_if_asked` between pieces.
    A second Ctrl-C interrupts at once."""

    def ask(signum, frame) -> None:
        if _asked_to_stop.is_set():
            raise KeyboardInterrupt
        _asked_to_stop.set()

    previous = signal.signal(signal.SIGINT, ask)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _asked_to_stop.clear()


def stop_if_asked() -> None:
    """Raises KeyboardInterrupt if a deferred Ctrl-C asked to stop (a no-op otherwise)."""
    if _asked_to_stop.is_set():
        raise KeyboardInterrupt


def was_interrupted(err: BaseException) -> bool:
    """A KeyboardInterrupt, or an error raised while one was under way (numba's compiled code
    turns a Ctrl-C into a SystemError whose context is the KeyboardInterrupt)."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return False


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
    as one line and returns 2, or on Ctrl-C prints `interrupted` (and the next step an
    `Interrupted` names) and returns 130."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        if threading.current_thread() is threading.main_thread():
            # Ctrl-C stops the command even where it started with SIGINT ignored (a child of
            # a process that ignores it, such as a test runner's worker, inherits that)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return main(argv) or 0
        except ParameterError as err:
            print(f"error: {err}", file=sys.stderr)
            return USAGE_ERROR
        except (KeyboardInterrupt, SystemError) as err:
            if not was_interrupted(err):
                raise
            next_step = getattr(err, "next_step", "")
            print("\ninterrupted" + (f": {next_step}" if next_step else ""), file=sys.stderr)
            return INTERRUPTED

    return run
