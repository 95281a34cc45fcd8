"""Headless matplotlib for the figures a run writes: `plt` on the Agg backend, `save_figure`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed, and never Qt's backend beside the synth panel
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

__all__ = ["plt", "save_figure"]


def save_figure(fig, path: str | Path, *, dpi: int = 120) -> None:
    """Writes a figure to a PNG (making its folder) and frees it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
