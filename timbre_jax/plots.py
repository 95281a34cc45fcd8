"""Figures written into a workdir (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)


def plot_learning_curve(rows: list[dict], path: str | Path, *, title: str = "") -> None:
    """Training loss and validation MSE per epoch, log scale, to a PNG."""
    epochs = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.semilogy(epochs, [r["train_loss"] for r in rows], label="training loss (MSE + L2 [+ KL])")
    ax.semilogy(epochs, [r["val_mse"] for r in rows], label="validation MSE")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
