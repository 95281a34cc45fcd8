"""Progress bars that redraw only on a terminal.

On a terminal a bar redraws as `tqdm` does; written to a file or pipe (`make demo > log`) it
prints at most one line every `LOG_INTERVAL` seconds instead of every refresh.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal


def progress_bar(iterable, *, desc: str, show: bool = True, **kwargs) -> tqdm:
    """`tqdm(iterable)` on stderr: hidden if not `show`, rare lines if stderr is no terminal."""
    on_terminal = sys.stderr.isatty()
    if not on_terminal:
        kwargs |= {"mininterval": LOG_INTERVAL, "maxinterval": LOG_INTERVAL, "ascii": True}
    return tqdm(iterable, desc=desc, disable=not show, dynamic_ncols=on_terminal, **kwargs)


def print_line(text: str) -> None:
    """Prints a line to stdout without tearing a progress bar that is being drawn."""
    tqdm.write(text)
