"""Chroma against note conditioning on the five-octave and violin corpora, into results/.

    python launch/notes_experiment.py --epochs 50   # about 80 min of training on a 2-core CPU
    python launch/notes_experiment.py               # the paper's 300 epochs (a GPU's work)

Trains the four rows of `configs/notes.py` (2-D sigmoid bottleneck with chroma skip; chroma or
note conditioning; same seed and epochs) into RUNS_eN/ROW (RUNS/ROW at 300 epochs), sweeps
each model's latent mesh at the default size (`timbre_jax.mesh`: the paper's 350 x 350 for a
chroma model, as many decodes in all for a note model) and writes into OUT:

- notes.md and notes.csv: test MSE, pitch-class and exact-note accuracy over the mesh
  (interior and shell), octave errors above and below, the exact-note accuracy on notes of
  the range the training split never sounds, and the training and mesh times;
- figure_notes.png: for the pitch class with the most trained octaves in both corpora, the
  decoded note over the latent plane at each of its octaves, one row per model.

Work whose outputs exist is skipped, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from reproduce import PAPER_EPOCHS, ROOT, caption, ensure_corpus, write_table  # noqa: E402  (a sibling)

from timbre_jax.analysis import mesh_sweep, plots
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.model.run import load_run
from timbre_jax.training.config import config_module
from timbre_jax.training.loop import train_and_evaluate

NOTES = config_module(ROOT / "configs" / "notes.py")
HEADER = ["corpus", "conditioning", "epochs", "test MSE (final)", "test MSE (best val.)",
          "pitch class", "exact note", "exact, interior", "exact, shell", "octave above",
          "octave below", "exact, untrained notes", "mean pitch decoded / pressed (MIDI)",
          "mesh length", "train minutes",
          "mesh seconds", "device"]  # fmt: skip


TITLE = (
    "Chroma against note conditioning (2-D sigmoid bottleneck, chroma skip), {caption}. "
    "Accuracies over the latent mesh: the decoded frame's chroma class against the conditioned "
    "pitch class (as Table V), and its estimated note against the conditioned note (a chroma "
    "model: against each note of the training range, decoded with that note's class). Means "
    "over the notes the training split sounds. Mean pitch: of the decoded notes over the mesh, "
    "against the mean of the trained notes pressed."
)


def ensure_run(workdir: Path, row: str, epochs: int, configs=NOTES) -> dict:
    """Trains (or resumes) one row of a config file (configs/notes.py by default); returns its
    final.json."""
    if not (workdir / "final.json").is_file():
        config = configs.get_config(row)
        config.corpus = str(ROOT / config.corpus)
        config.train.epochs = epochs
        ensure_corpus(Path(config.corpus))
        train_and_evaluate(config, workdir)
    return json.loads((workdir / "final.json").read_text())


def ensure_mesh(workdir: Path) -> dict:
    """The run's mesh.json at the default mesh size (swept unless it is there)."""
    path = workdir / "mesh.json"
    if not path.is_file() or not (workdir / "mesh_notes.npz").is_file():
        path.write_text(json.dumps(mesh_sweep.sweep(load_run(workdir)), indent=1))
    return json.loads(path.read_text())


def table_row(row: str, final: dict, mesh: dict) -> list:
    def cell(value):
        return "-" if value is None else f"{value:.3f}"

    corpus, conditioning = row.rsplit("_", 1)
    return [corpus, conditioning, final["epochs"], f"{final['test_mse_final']:.3e}",
            f"{final['test_mse_best']:.3e}", cell(mesh["mean_accuracy"]),
            cell(mesh["exact_accuracy"]), cell(mesh["exact_interior_accuracy"]),
            cell(mesh["exact_shell_accuracy"]), cell(mesh["octave_above"]),
            cell(mesh["octave_below"]), cell(mesh["untrained_exact_accuracy"]),
            f"{mesh['mean_decoded_pitch']:.1f} / {mesh['mean_trained_pitch']:.1f}",
            mesh["points_per_dim"], f"{final['train_seconds'] / 60:.1f}",
            f"{mesh['seconds']:.0f}", final["device"]]  # fmt: skip


def decoded_planes(workdir: Path) -> tuple[dict[int, np.ndarray], tuple, set[int]]:
    """({MIDI note: decoded notes [N, N]} over the trained notes, extent, trained notes) of a
    run's mesh_notes.npz; a chroma model's decodes of a class serve each note of that class."""
    data = np.load(workdir / "mesh_notes.npz")
    trained = set(mesh_sweep.training_pitches(load_run(workdir).corpus).tolist())
    conditions = data["conditions"].tolist()
    if str(data["conditioning"]) == "note":
        planes = {n: data["notes"][conditions.index(n)] for n in trained}
    else:
        planes = {n: data["notes"][n % 12] for n in trained}
    return planes, tuple(data["extent"]), trained


def figure(workdirs: dict[str, Path], path: Path) -> None:
    """The decoded note at each octave of one pitch class, one row per model."""
    planes = {row: decoded_planes(w) for row, w in workdirs.items()}
    octaves = [min(sum(n % 12 == c for n in p[2]) for p in planes.values()) for c in range(12)]
    pitch_class = int(np.argmax(octaves))
    panels = [[(n, p[0][n]) for n in sorted(p[2]) if n % 12 == pitch_class]
              for p in planes.values()]  # fmt: skip
    plots.plot_note_planes(
        panels, [p[1] for p in planes.values()], path,
        row_labels=[row.replace("_", " ").replace("five octave", "five-octave")
                    for row in planes],
        title=f"Decoded note when conditioned on {NOTE_NAMES[pitch_class]} in each trained "
              "octave: chroma against note conditioning",
    )  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=PAPER_EPOCHS, help="epochs of every row")
    parser.add_argument("--runs", default="runs/notes", help="folder of the runs")
    parser.add_argument("--out", default="results", help="folder of the table and figure")
    args = parser.parse_args(argv)
    runs = Path(args.runs if args.epochs == PAPER_EPOCHS else f"{args.runs}_e{args.epochs}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, workdirs, epochs = [], {}, set()
    for row in NOTES.ROWS:
        workdirs[row] = runs / row
        final = ensure_run(workdirs[row], row, args.epochs)
        rows.append(table_row(row, final, ensure_mesh(workdirs[row])))
        epochs.add(final["epochs"])
    write_table(out, "notes", TITLE.format(caption=caption(epochs)), HEADER, rows)
    figure(workdirs, out / "figure_notes.png")
    print((out / "notes.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
