"""`python -m timbre_jax.embed`: encode a split of a run's corpus and plot it (paper Figs. 2-3).

    python -m timbre_jax.embed --workdir runs/NAME [--split train]
    python -m timbre_jax.embed --grid runs/A runs/B runs/C runs/D --out figure.png

The first writes `embedding_SPLIT.npz` (latents, chroma class, pitch, clip id) and
`plots/embedding_SPLIT.png` into the workdir, and prints how much of the playable span the
latents fill (the fraction of a 20^d grid of cells over it that holds a frame); the second
puts 2-D runs side by side in the paper's layout (rows: LeakyReLU / sigmoid bottleneck;
columns: without / with chroma skip).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax import plots
from timbre_jax.checkpoint import check_spectral, load_model
from timbre_jax.corpus.report import load_metadata, load_split
from timbre_jax.dataset import previous_frame_index
from timbre_jax.errors import ParameterError

BATCH = 4096  # frames encoded per jitted call
MARGIN = 0.05  # LeakyReLU span: embedding range widened by this fraction on each side
COVERAGE_CELLS = 20  # cells per side of the grid that `span_coverage` counts


def encode_split(workdir: str | Path, split: str = "train") -> dict:
    """Latents of every frame of a split of the run's corpus.

    Returns:
      {"latents": [N, latent_dim] float32, "note": [N] int chroma class, "pitch": [N] int16,
       "clip_ids": [N] int32}
    """
    loaded = load_model(workdir)
    corpus = loaded.meta["corpus"]
    check_spectral(loaded.meta, load_metadata(corpus), what=f"embedding {workdir}")
    data = load_split(corpus, split)
    encode = jax.jit(
        lambda frames, chroma, diff: loaded.model.apply(
            {"params": loaded.params}, frames, chroma, diff, method="encode"
        )
    )
    previous = previous_frame_index(np.asarray(data.clip_ids), np.asarray(data.positions))
    latents = []
    for start in range(0, len(data.frames), BATCH):
        stop = min(start + BATCH, len(data.frames))
        frames = np.asarray(data.frames[start:stop])
        prev = np.asarray(data.frames[previous[start:stop]])
        diff = frames - prev
        chroma = np.asarray(data.chroma[start:stop])
        pad = BATCH - (stop - start)  # one compiled shape for every batch
        args = (np.pad(a, ((0, pad), (0, 0))) for a in (frames, chroma, diff))
        latents.append(np.asarray(encode(*(jnp.asarray(a) for a in args)))[: stop - start])
    return {
        "latents": np.concatenate(latents).astype(np.float32),
        "note": np.argmax(data.chroma, axis=1),
        "pitch": np.asarray(data.pitch),
        "clip_ids": np.asarray(data.clip_ids),
    }


def latent_span(workdir, meta: dict, latents=None) -> tuple[np.ndarray, np.ndarray]:
    """(low [d], high [d]) of the playable latent region: (0, 1) per neuron for a sigmoid
    bottleneck, else the training latents' range widened by `MARGIN` (encoded if not given)."""
    d = meta["model"]["latent_dim"]
    if meta["model"]["bottleneck"] == "sigmoid":
        return np.zeros(d), np.ones(d)
    if latents is None:
        latents = encode_split(workdir, "train")["latents"]
    low, high = latents.min(axis=0), latents.max(axis=0)
    pad = MARGIN * np.maximum(high - low, 1e-6)
    return low - pad, high + pad


def span_coverage(latents, low, high, cells: int = COVERAGE_CELLS) -> float:
    """Fraction of the cells^d grid over the span [low, high] that holds a latent [N, d]: how
    much of the playable region the training data reaches (1 = uniform enough to fill it)."""
    unit = np.clip((np.asarray(latents) - low) / (high - low), 0.0, 1.0 - 1e-9)
    return len(np.unique((unit * cells).astype(np.int64), axis=0)) / cells ** unit.shape[1]


def coverage_of(workdir, embedding: dict) -> float:
    """`span_coverage` of a run's embedding over its playable span."""
    low, high = latent_span(workdir, load_model(workdir).meta, embedding["latents"])
    return span_coverage(embedding["latents"], low, high)


def embed(workdir: str | Path, split: str = "train") -> Path:
    """Writes the embedding and its plot into the workdir; returns (plot path, coverage)."""
    embedding = encode_split(workdir, split)
    np.savez(Path(workdir) / f"embedding_{split}.npz", **embedding)
    meta = load_model(workdir).meta["model"]
    coverage = coverage_of(workdir, embedding)
    title = (
        f"{Path(workdir).name}: {split} split, {meta['bottleneck']} bottleneck, "
        f"fills {coverage:.0%} of its span"
    )
    path = Path(workdir) / "plots" / f"embedding_{split}.png"
    plots.plot_embedding(embedding["latents"], embedding["note"], path, title=title)
    return path, coverage


def paper_grid(workdirs: list[str | Path], out: str | Path, split: str = "train") -> Path:
    """2-D embeddings of up to four runs in the paper's 2 x 2 layout."""
    panels = {}
    for workdir in workdirs:
        model = load_model(workdir).meta["model"]
        if model["latent_dim"] != 2:
            raise ParameterError(
                f"--grid takes 2-D models; {str(workdir)!r} has {model['latent_dim']}"
            )
        cell = (model["bottleneck"] == "sigmoid", bool(model["chroma_skip"]))
        if cell in panels:
            raise ParameterError(f"--grid: two runs share bottleneck/skip cell {cell}")
        emb = encode_split(workdir, split)
        name = f"{Path(workdir).name}, fills {coverage_of(workdir, emb):.0%} of its span"
        panels[cell] = (emb["latents"], emb["note"], name)
    plots.plot_embedding_grid(panels, out)
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m timbre_jax.embed", description=__doc__)
    parser.add_argument("--workdir", help="a run folder")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"))
    parser.add_argument("--grid", nargs="+", help="2-D runs for the paper's 2 x 2 figure")
    parser.add_argument("--out", help="figure path for --grid")
    args = parser.parse_args(argv)
    try:
        if args.grid:
            if not args.out:
                raise ParameterError("--grid needs --out FIGURE.png")
            print(f"wrote {paper_grid(args.grid, args.out, args.split)}")
        elif args.workdir:
            path, coverage = embed(args.workdir, args.split)
            print(
                f"wrote {path}; the {args.split} latents fill {coverage:.1%} of the playable "
                f"span ({COVERAGE_CELLS}^d cells)"
            )
        else:
            raise ParameterError("give --workdir RUN or --grid RUN... --out FIGURE.png")
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
