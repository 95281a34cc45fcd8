"""Progress bars that redraw only on a terminal.

On a terminal a bar redraws as `tqdm` does; written to a file or pipe (`make demo > log`) it
prints at most one whole line every `LOG_INTERVAL` seconds instead of redrawing one line with
carriage returns.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal


class LogLines:
    """A stream for tqdm in a log: each redraw becomes a line of its own (no carriage
    returns), and the blank writes that clear a bar are dropped."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip("\n")
        if text.strip():
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable, *, desc: str, show: bool = True, **kwargs) -> tqdm:
    """`tqdm(iterable)` on stderr: hidden if not `show`, rare whole lines if stderr is no
    terminal."""
    on_terminal = sys.stderr.isatty()
    if not on_terminal:
        kwargs |= {"mininterval": LOG_INTERVAL, "maxinterval": LOG_INTERVAL, "ascii": True,
                   "file": LogLines(sys.stderr)}  # fmt: skip
    return tqdm(iterable, desc=desc, disable=not show, dynamic_ncols=on_terminal, **kwargs)


def print_line(text: str) -> None:
    """Prints a line to stdout without tearing a progress bar that is being drawn."""
    tqdm.write(text)
