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

import sys

from timbre_jax.analysis.embedding import COVERAGE_CELLS
from timbre_jax.analysis.plots import embed_run, paper_grid
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.errors import ParameterError
from timbre_jax.model.run import load_run


@command
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m timbre_jax.embed", description=__doc__)
    parser.add_argument("--workdir", help="a run folder")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"))
    parser.add_argument("--grid", nargs="+", help="2-D runs for the paper's 2 x 2 figure")
    parser.add_argument("--out", help="figure path for --grid")
    args = parser.parse_args(argv)
    if args.grid:
        if not args.out:
            raise ParameterError("--grid needs --out FIGURE.png")
        runs = [load_run(workdir) for workdir in args.grid]
        print(f"wrote {paper_grid(runs, args.out, args.split)}")
    elif args.workdir:
        path, coverage = embed_run(load_run(args.workdir), args.split)
        print(
            f"wrote {path}; the {args.split} latents fill {coverage:.1%} of the playable "
            f"span ({COVERAGE_CELLS}^d cells)"
        )
    else:
        raise ParameterError("give --workdir RUN or --grid RUN... --out FIGURE.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
