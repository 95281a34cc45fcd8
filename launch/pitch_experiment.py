"""Every pad point plays its note (issue 16): the paper's objective against the additions
beyond it, into results/pitch.md.

    python launch/pitch_experiment.py --epochs 50 --rows violin_paper violin_pitch
    python launch/pitch_experiment.py --epochs 10 --rows violin_paper violin_pitch \\
        violin_deep violin_both keys_paper keys_pitch --table pitch_e10

Trains each row of `configs/pitch.py` (2-D sigmoid bottleneck, chroma skip, note
conditioning; same seed and epochs) into RUNS_eN/ROW, then measures each model:
- the latent mesh (`timbre_jax.mesh`, default size): the decoded frame's chroma class against
  the conditioned class (Table V) and the template estimator's note against the conditioned
  note (exact, interior and shell, octave errors);
- what a listener hears (`launch/audit_pitch.py`): pYIN on held keys, one of each trained
  pitch class, at `--audit-points` random pad points, with noise phase (the paper's) and
  harmonic phase (the synth's default for note models): key, pitch class, no pitch, cents;
- timbre variety: the mean MFCC distance between decodes over a 10 x 10 pad, averaged over
  the audited keys (analysis/timbre_variety.py).

Work whose outputs exist is skipped, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from notes_experiment import ROOT, caption, ensure_mesh, ensure_run, write_table  # noqa: E402

from timbre_jax.analysis.timbre_variety import timbre_variety
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.evaluation.pitch_audit import audit_run
from timbre_jax.model.run import load_run
from timbre_jax.training.config import config_module

PITCH = config_module(ROOT / "configs" / "pitch.py")
PHASES = ("noise", "harmonic")
HEADER = ["corpus", "variant", "epochs", "test MSE (best val.)", "pitch class (chroma, mesh)",
          "exact note (estimator, mesh)", "exact, interior", "exact, shell", "octave errors",
          "class (estimator, mesh)", "no clear pitch (mesh)",
          *[f"pYIN {m}: {k}" for m in PHASES for k in ("key", "class", "no pitch", "cents")],
          "timbre variety", "train minutes", "device"]  # fmt: skip
TITLE = (
    "Every pad point plays its note: the paper's objective (reconstruction + L2) against the "
    "pitch term (template cross-entropy of decodes at random pad points), the note into every "
    "decoder layer (deep), and both; 2-D sigmoid bottleneck, chroma skip, note conditioning, "
    "{caption}. Mesh: the template estimator's note of every decode over the latent mesh. "
    "pYIN: held keys rendered through the engine at {points} random pad points x one trained "
    "key of each class; cents: median |deviation| of the keys heard right. Timbre variety: "
    "mean MFCC (1-19) distance between decodes over a 10 x 10 pad."
)


def ensure_audit(workdir: Path, points: int) -> dict:
    """The run's pitch_audit.json (pYIN with noise and harmonic phase), and its variety."""
    path = workdir / "pitch_audit.json"
    if not path.is_file():
        run = load_run(workdir)
        result = audit_run(run, points=points, phases=PHASES)
        result["timbre_variety"] = timbre_variety(run, result["notes"])
        path.write_text(json.dumps(result, indent=1))
    return json.loads(path.read_text())


def cell(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def table_row(row: str, final: dict, mesh: dict, audit: dict) -> list:
    corpus, variant = row.split("_", 1)
    cells = []
    for m in PHASES:
        cells += [f"{audit[m][k]:.3f}" for k in ("exact", "pitch_class", "no_pitch")]
        cells.append(f"{audit[m]['median_abs_cents']:.0f}")
    return [corpus, variant, final["epochs"], f"{final['test_mse_best']:.3e}",
            f"{mesh['mean_accuracy']:.3f}", f"{mesh['exact_accuracy']:.3f}",
            f"{mesh['exact_interior_accuracy']:.3f}", f"{mesh['exact_shell_accuracy']:.3f}",
            f"{mesh['octave_error_rate']:.3f}", cell(mesh.get("estimated_class_accuracy")),
            cell(mesh.get("no_pitch")), *cells, f"{audit['timbre_variety']:.1f}",
            f"{final['train_seconds'] / 60:.1f}", final["device"]]  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of every row")
    parser.add_argument("--rows", nargs="+", default=PITCH.ROWS, choices=PITCH.ROWS)
    parser.add_argument("--audit-points", type=int, default=12, help="random pad points")
    parser.add_argument("--runs", default="runs/pitch", help="folder of the runs")
    parser.add_argument("--out", default="results", help="folder of the table")
    parser.add_argument("--table", default="pitch", help="the table's name: OUT/TABLE.md, .csv")
    args = parser.parse_args(argv)
    runs, out = Path(f"{args.runs}_e{args.epochs}"), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, epochs = [], set()
    for row in args.rows:
        final = ensure_run(runs / row, row, args.epochs, configs=PITCH)
        mesh, audit = ensure_mesh(runs / row), ensure_audit(runs / row, args.audit_points)
        rows.append(table_row(row, final, mesh, audit))
        epochs.add(final["epochs"])
        title = TITLE.format(caption=caption(epochs), points=args.audit_points)
        write_table(out, args.table, title, HEADER, rows)  # after every row: progress is kept
    print((out / f"{args.table}.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
