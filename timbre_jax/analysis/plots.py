"""Figures of the latent analysis: embeddings, the paper's 2 x 2 grid, mesh class and note
maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from timbre_jax.analysis.embedding import encode_split, run_coverage
from timbre_jax.dsp.chroma import NOTE_NAMES, note_name
from timbre_jax.errors import ParameterError
from timbre_jax.figures import plt, save_figure
from timbre_jax.model.run import Run


def note_colors():
    """12 colours from the perceptually uniform viridis map: C dark blue ... B yellow."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(plt.get_cmap("viridis")(np.linspace(0, 1, 12)))


def _scatter_notes(ax, x, y, notes, *, size=2.0):
    ax.scatter(x, y, c=notes, cmap=note_colors(), vmin=-0.5, vmax=11.5, s=size, linewidths=0)


def _note_legend(fig, notes):
    from matplotlib.lines import Line2D

    colors = note_colors()
    handles = [
        Line2D([], [], marker="o", ls="", color=colors(n), label=NOTE_NAMES[n])
        for n in sorted(set(np.asarray(notes).tolist()))
    ]
    fig.legend(handles=handles, loc="center right", title="note", frameon=False)


def plot_embedding(latents, notes, path, *, title: str = "") -> None:
    """Latents [N, d] coloured by note class: a scatter for d = 2, pairwise panels above."""
    d = latents.shape[1]
    pairs = [(0, 1)] if d <= 2 else [(i, j) for i in range(d) for j in range(i + 1, d)]
    cols = int(np.ceil(np.sqrt(len(pairs))))
    rows = int(np.ceil(len(pairs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols + 1.2, 3.2 * rows), squeeze=False)
    for ax, (i, j) in zip(axes.flat, pairs, strict=False):
        if d == 1:
            _scatter_notes(ax, latents[:, 0], np.zeros(len(latents)), notes)
        else:
            _scatter_notes(ax, latents[:, i], latents[:, j], notes)
            ax.set_xlabel(f"z{i}")
            ax.set_ylabel(f"z{j}")
    for ax in axes.flat[len(pairs) :]:
        ax.axis("off")
    _note_legend(fig, notes)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1 - 0.9 / (3.2 * cols + 1.2), 1))
    save_figure(fig, path)


def plot_embedding_grid(panels: dict, path) -> None:
    """The paper's Fig. 2/3 layout. panels: {(is_sigmoid, has_skip): (latents, notes, name)}."""
    fig, axes = plt.subplots(2, 2, figsize=(8.5, 7.5), squeeze=False)
    notes_seen = []
    for (sigmoid, skip), (latents, notes, name) in panels.items():
        ax = axes[int(sigmoid), int(skip)]
        _scatter_notes(ax, latents[:, 0], latents[:, 1], notes)
        label = f"{'sigmoid' if sigmoid else 'LeakyReLU'}, {'with' if skip else 'no'} skip"
        ax.set_title(f"{label}\n{name}", fontsize=9)
        notes_seen.append(notes)
    for ax in axes.flat:
        if not ax.collections:
            ax.axis("off")
    _note_legend(fig, np.concatenate(notes_seen))
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    save_figure(fig, path)


def plot_mesh_classes(classes, extent, path, *, embedding=None, present=None, title="") -> None:
    """Figs. 4-5: for each conditioned note, the class decoded at each point of a 2-D mesh.

    Args:
      classes: [12, N, N] decoded chroma class, indexed [note, i along z0, j along z1].
      extent: (z0_min, z0_max, z1_min, z1_max) of the mesh.
      embedding: optional (latents [M, 2], notes [M]) drawn over each panel.
      present: the notes shown (default all 12).
    """
    notes = list(range(12)) if present is None else list(present)
    cols = 4 if len(notes) > 6 else len(notes)
    rows = int(np.ceil(len(notes) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols + 1.2, 2.8 * rows), squeeze=False)
    for ax, note in zip(axes.flat, notes, strict=False):
        ax.imshow(classes[note].T, origin="lower", extent=extent, cmap=note_colors(),
                  vmin=-0.5, vmax=11.5, interpolation="nearest", aspect="auto")  # fmt: skip
        if embedding is not None:
            latents, emb_notes = embedding
            mine = emb_notes == note
            ax.scatter(latents[mine, 0], latents[mine, 1], s=1, c="white", alpha=0.4, linewidths=0)
        accuracy = float(np.mean(classes[note] == note))
        ax.set_title(f"conditioned on {NOTE_NAMES[note]}: {accuracy:.3f}", fontsize=9)
    for ax in axes.flat[len(notes) :]:
        ax.axis("off")
    _note_legend(fig, np.arange(12))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1 - 0.9 / (2.8 * cols + 1.2), 1))
    save_figure(fig, path)


OFFSETS = ("the note", "its class, lower", "its class, higher", "another class")
OFFSET_COLORS = ("#2ca02c", "#1f77b4", "#d62728", "#d9d9d9")


def decoded_offset(decoded: np.ndarray, note: int) -> np.ndarray:
    """Each decoded MIDI note against the conditioned one, as an index into `OFFSETS`."""
    same_class = (decoded.astype(int) - note) % 12 == 0
    return np.where(decoded == note, 0, np.where(same_class, np.where(decoded < note, 1, 2), 3))


def plot_note_planes(panels: list[list], extents: list, path, *, row_labels: list[str],
                     untrained: set[int] = frozenset(), title: str = "") -> None:  # fmt: skip
    """Over a 2-D mesh, whether the decoded note is the conditioned one, or its class in
    another octave (an octave error), or another class.

    Args:
      panels: rows of (conditioned MIDI note, decoded MIDI notes [N, N] indexed [i along z0,
        j along z1]), or None for an empty cell.
      extents: per row, (z0_min, z0_max, z1_min, z1_max) of its mesh.
      row_labels: one per row.
      untrained: conditioned notes the training split never sounds (titled so).
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    rows, cols = len(panels), max(len(row) for row in panels)
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols + 0.8, 1.5 * rows + 0.9),
                             squeeze=False)  # fmt: skip
    for r, (row, extent) in enumerate(zip(panels, extents, strict=True)):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(row) or row[c] is None:
                ax.axis("off")
                continue
            note, decoded = row[c]
            offset = decoded_offset(decoded, note)
            ax.imshow(offset.T, origin="lower", extent=extent, cmap=ListedColormap(OFFSET_COLORS),
                      vmin=-0.5, vmax=3.5, interpolation="nearest", aspect="auto")  # fmt: skip
            label = f"{note_name(note)}{' (untrained)' if note in untrained else ''}"
            ax.set_title(f"{label}: {np.mean(offset == 0):.2f}", fontsize=8)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=8)
    handles = [
        Patch(color=color, label=label) for color, label in zip(OFFSET_COLORS, OFFSETS, strict=True)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=8,
               title="decoded note (titles: conditioned note, fraction exact)")  # fmt: skip
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.9 / (1.5 * rows + 0.9), 1, 1))
    save_figure(fig, path)


def embed_run(run: Run, split: str = "train") -> tuple[Path, float]:
    """Writes `embedding_SPLIT.npz` (latents, note class, pitch, clip id) and its scatter plot
    into the run's folder; returns the plot's path and how much of the playable span the
    split's latents fill (`embedding.span_coverage`)."""
    embedding = encode_split(run, split)
    np.savez(run.folder / f"embedding_{split}.npz", **embedding)
    coverage = run_coverage(run, embedding["latents"])
    span = f"fills {coverage:.0%} of its span"
    title = f"{run.name}: {split} split, {run.bottleneck} bottleneck\n{span}"
    path = run.folder / "plots" / f"embedding_{split}.png"
    plot_embedding(embedding["latents"], embedding["note"], path, title=title)
    return path, coverage


def paper_grid(runs: list[Run], out: str | Path, split: str = "train") -> Path:
    """2-D embeddings of up to four runs in the paper's 2 x 2 layout (Figs. 2-3): rows
    LeakyReLU / sigmoid bottleneck, columns without / with chroma skip."""
    panels = {}
    for run in runs:
        if run.latent_dim != 2:
            raise ParameterError(f"--grid takes 2-D models; {run.name!r} has {run.latent_dim}")
        cell = (run.bottleneck == "sigmoid", bool(run.meta["model"]["chroma_skip"]))
        if cell in panels:
            raise ParameterError(f"--grid: two runs share bottleneck/skip cell {cell}")
        embedding = encode_split(run, split)
        name = f"{run.name}, fills {run_coverage(run, embedding['latents']):.0%} of its span"
        panels[cell] = (embedding["latents"], embedding["note"], name)
    plot_embedding_grid(panels, out)
    return Path(out)
