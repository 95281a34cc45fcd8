"""`python -m timbre_jax.mesh`: how much of the latent space sounds the conditioned note
(paper Table V and Figs. 4-5), as a pitch class and as an exact note.

    python -m timbre_jax.mesh --workdir runs/NAME [--points N | --sobol M]
    python -m timbre_jax.mesh --table runs/A runs/B ...

For each of the 12 pitch classes (a chroma model) or each note of the trained range (a note
model), decodes a regular N^d mesh of the latent space (cell centres) or M scrambled Sobol
points, and reports the fraction whose decoded frame has the conditioned chroma class (Table
V), and the fraction that is the conditioned note itself, overall, in the interior and in the
shell near the faces of the span (see timbre_jax/analysis/mesh_sweep.py). By default N = 350,
50, 5 for d = 2, 3, 8 as in the paper for a chroma model, and as many decodes in all for a
note model. Writes `mesh.json`, and for 2-D meshes `mesh_notes.npz`, `plots/mesh_notes.png`
and (chroma models) `plots/mesh_classes.png`, into the workdir.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from timbre_jax.analysis.mesh_sweep import summary_line, sweep, table, table_header, table_row
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.errors import ParameterError
from timbre_jax.model.run import load_run


@command
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m timbre_jax.mesh", description=__doc__)
    parser.add_argument("--workdir", help="a run folder")
    parser.add_argument("--points", type=int, help="mesh points per dimension")
    parser.add_argument("--sobol", type=int, help="scrambled Sobol points per class instead")
    parser.add_argument("--chunk", type=int, help="points decoded per call (CPU 1024, else 8192)")
    parser.add_argument("--table", nargs="+", help="runs with mesh.json: print Table V")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    if not args.workdir:
        raise ParameterError("give --workdir RUN, or --table RUN...")
    result = sweep(load_run(args.workdir), points=args.points, sobol=args.sobol, chunk=args.chunk)
    (Path(args.workdir) / "mesh.json").write_text(json.dumps(result, indent=1))
    print(table_header())
    print(table_row(result))
    print(summary_line(result))
    print(
        f"shell = {100 * result['shell_fraction']:.0f}% of points; "
        f"{result['decodes_per_second']:.0f} decodes/s in {result['seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
