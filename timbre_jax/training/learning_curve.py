"""The learning-curve figure a run writes into plots/learning_curve.png."""

from __future__ import annotations

from pathlib import Path

from timbre_jax.figures import plt, save_figure


def plot_learning_curve(rows: list[dict], path: str | Path, *, title: str = "") -> None:
    """Training loss and validation MSE per epoch (rows of metrics.jsonl), log scale, to a PNG."""
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
    save_figure(fig, path)
