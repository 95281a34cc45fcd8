"""Reproduces the paper's Tables I-V and Figures 2-5 into results/ (or any table of them).

    python launch/reproduce.py                      # everything, the paper's 300 epochs
    python launch/reproduce.py --tables 2 5 --epochs 50 --corpus-epochs violin=10

For each table it builds the corpora it needs (data/corpora/PRESET, rendered from the bundled
SoundFont), trains every row of `configs/paper.py` into RUNS/ROW, and for Table V runs the
mesh evaluation at the paper's mesh sizes. Then it writes, into OUT: tableN.md and tableN.csv
(the paper's figures beside ours, with epochs, device and training time), figure2.png and
figure3.png (2-D embeddings in the paper's 2 x 2 layout), figure4.png and figure5.png (the
2-D sigmoid-with-skip models' mesh class maps), and audio/ROW.wav (a latent sweep over all
notes) for the 2-D models. Work whose outputs exist and are complete is skipped, so an
interrupted reproduction continues where it stopped. A row trained for other than 300 epochs
(`--epochs`, or `--corpus-epochs PRESET=N` for the rows on one corpus) goes to RUNS_eN/ROW,
and every table holding such a row says so in its caption.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import numpy as np

from timbre_jax.analysis import mesh_sweep, plots
from timbre_jax.corpus.build import build_corpus
from timbre_jax.corpus.render import render_preset
from timbre_jax.corpus.store import CORPUS_FORMAT
from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.training.config import config_module
from timbre_jax.training.loop import train_and_evaluate
from timbre_jax.training.run import load_run

ROOT = Path(__file__).resolve().parents[1]
PAPER_EPOCHS = 300
TABLE_ROWS = {
    1: ["table1_no_append", "table1_diff", "table1_chroma"],
    2: ["table2_lrelu", "table2_lrelu_skip", "table2_sigmoid", "table2_sigmoid_skip"],
    3: ["table3_lrelu", "table3_lrelu_skip", "table3_sigmoid", "table3_sigmoid_skip"],
    4: ["table4_one_octave", "table4_one_octave_skip", "table4_violin", "table4_violin_skip"],
    5: ["table2_sigmoid_skip", "table4_one_octave_skip", "table5_one_octave_8d",
        "table3_sigmoid_skip", "table4_violin_skip", "table5_violin_8d"],
}  # fmt: skip
FIGURES = {2: "table2", 3: "table3"}  # embedding grids: the four runs of these tables
MESH_FIGURES = {4: "table2_sigmoid_skip", 5: "table3_sigmoid_skip"}


def load_paper_configs():
    """configs/paper.py: the rows, the paper's MSEs and Table V."""
    return config_module(ROOT / "configs" / "paper.py")


def ensure_corpus(path: Path) -> None:
    """Renders and builds data/corpora/PRESET unless it is there in the current format."""
    meta = path / "corpus.json"
    if meta.is_file() and json.loads(meta.read_text())["format"] == CORPUS_FORMAT:
        return
    audio = path.parent.parent / "audio" / path.name
    if not (audio / "manifest.json").is_file():
        render_preset(path.name, audio, overwrite=True)
    build_corpus(audio, path, overwrite=True)


class Protocol:
    """Epochs and run folder of each row: `epochs`, or `corpus_epochs[preset]` for its corpus."""

    def __init__(self, paper, runs: str, epochs: int, corpus_epochs: dict[str, int]):
        self.paper, self.runs, self.default, self.corpus_epochs = paper, runs, epochs, corpus_epochs

    def epochs(self, row: str) -> int:
        return self.corpus_epochs.get(Path(self.paper.ROWS[row][0]).name, self.default)

    def workdir(self, row: str) -> Path:
        epochs = self.epochs(row)
        return Path(self.runs if epochs == PAPER_EPOCHS else f"{self.runs}_e{epochs}") / row


def ensure_run(protocol: Protocol, row: str) -> dict:
    """Trains (or resumes) one row; returns its final.json."""
    workdir = protocol.workdir(row)
    if not (workdir / "final.json").is_file():
        config = protocol.paper.get_config(row)
        config.corpus = str(ROOT / config.corpus)
        config.train.epochs = protocol.epochs(row)
        ensure_corpus(Path(config.corpus))
        train_and_evaluate(config, workdir)
    return json.loads((workdir / "final.json").read_text())


def ensure_mesh(workdir: Path, points: int) -> dict:
    path = workdir / "mesh.json"
    if not path.is_file() or json.loads(path.read_text())["points_per_dim"] != points:
        path.write_text(json.dumps(mesh_sweep.sweep(load_run(workdir), points=points), indent=1))
    return json.loads(path.read_text())


def caption(epochs: set[int]) -> str:
    if epochs == {PAPER_EPOCHS}:
        return "the paper's protocol (300 epochs, batch 200, Adam 5e-4, L2 1e-7)"
    return (
        f"a SHORTENED protocol: {' or '.join(map(str, sorted(epochs)))} epochs (see the epochs "
        "column) instead of the paper's 300 (batch 200, Adam 5e-4, L2 1e-7); our figures are not "
        "comparable to the paper's as they stand"
    )


def write_table(out: Path, stem: str, title: str, header: list[str], rows: list[list]) -> None:
    """OUT/STEM.csv, and OUT/STEM.md: the title, then the table in Markdown."""
    with open(out / f"{stem}.csv", "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    lines = [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


def mse_table(protocol: Protocol, number: int, out: Path) -> None:
    header = ["row", "corpus", "latent", "bottleneck", "skip", "augment", "paper test MSE",
              "our test MSE (final)", "our test MSE (best val.)", "epochs", "paper minutes",
              "our minutes", "device"]  # fmt: skip
    rows = []
    for row in TABLE_ROWS[number]:
        final = ensure_run(protocol, row)
        corpus, latent, bottleneck, skip, augment = protocol.paper.ROWS[row]
        paper_mse, paper_minutes = protocol.paper.PAPER_MSE[row]
        rows.append(
            [
                row,
                Path(corpus).name,
                latent,
                bottleneck,
                skip,
                augment,
                f"{paper_mse:.3e}",
                f"{final['test_mse_final']:.3e}",
                f"{final['test_mse_best']:.3e}",
                final["epochs"],
                paper_minutes,
                f"{final['train_seconds'] / 60:.1f}",
                final["device"],
            ]
        )
    write_table(out, f"table{number}", f"Table {number}, {caption({r[9] for r in rows})}.",
                header, rows)  # fmt: skip


def accuracy_table(protocol: Protocol, out: Path) -> None:
    header = ["model", "source", "epochs", "mesh length", *mesh_sweep.NAMES, "interior", "shell"]
    rows = []
    for row in TABLE_ROWS[5]:
        epochs = ensure_run(protocol, row)["epochs"]
        name, points, paper_cells = protocol.paper.PAPER_TABLE5[row]
        result = ensure_mesh(protocol.workdir(row), points)
        ours = ["-" if v is None else f"{v:.3f}" for v in result["accuracy"].values()]
        rows.append([name, "paper", PAPER_EPOCHS, points, *paper_cells.split(), "", ""])
        rows.append([name, "ours", epochs, points, *ours, f"{result['interior_accuracy']:.3f}",
                     f"{result['shell_accuracy']:.3f}"])  # fmt: skip
    write_table(out, "table5", f"Table 5, {caption({r[2] for r in rows[1::2]})}.", header, rows)


def sweep_audio(workdir: Path, path: Path, seconds_per_note: float = 0.5) -> None:
    """A diagonal latent sweep, half a second on each note: what the model plays, in 6 s."""
    engine = SynthEngine(load_run(workdir), phase="rtpghi")
    hops = round(seconds_per_note * engine.sample_rate / engine.hop_length)
    audio = []
    for note in range(60, 72):
        engine.release_all()
        engine.note_on(note)
        for k in range(hops):
            t = 0.1 + 0.8 * k / hops
            engine.set_latent([t] * engine.latent_dim)
            audio.append(engine.next_hop())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, np.concatenate(audio), sample_rate=engine.sample_rate)


def figures(protocol: Protocol, tables: list[int], out: Path) -> None:
    for number, prefix in FIGURES.items():
        if int(prefix[-1]) in tables:
            workdirs = [protocol.workdir(r) for r in TABLE_ROWS[int(prefix[-1])]]
            plots.paper_grid([load_run(w) for w in workdirs], out / f"figure{number}.png")
    for number, row in MESH_FIGURES.items():
        classes = protocol.workdir(row) / "plots" / "mesh_classes.png"
        if 5 in tables and classes.is_file():
            shutil.copy(classes, out / f"figure{number}.png")
    for row in sorted({r for t in tables for r in TABLE_ROWS[t]}):
        if protocol.paper.ROWS[row][1] == 2 and (protocol.workdir(row) / "final.json").is_file():
            sweep_audio(protocol.workdir(row), out / "audio" / f"{row}.wav")


def preset_epochs(text: str) -> tuple[str, int]:
    preset, _, epochs = text.partition("=")
    if not preset or not epochs.isdigit() or int(epochs) < 1:
        raise argparse.ArgumentTypeError(f"expected PRESET=EPOCHS, got {text!r}")
    return preset, int(epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--epochs", type=int, default=PAPER_EPOCHS, help="epochs of every row")
    parser.add_argument(
        "--corpus-epochs", type=preset_epochs, nargs="*", default=[], metavar="PRESET=N",
        help="epochs of one corpus's rows, e.g. violin=10",
    )  # fmt: skip
    parser.add_argument("--runs", default="runs/paper", help="folder of the runs")
    parser.add_argument("--out", default="results", help="folder of the tables and figures")
    args = parser.parse_args()
    paper = load_paper_configs()
    presets = {Path(corpus).name for corpus, *_ in paper.ROWS.values()}
    unknown = sorted({p for p, _ in args.corpus_epochs} - presets)
    if unknown:
        parser.error(f"unknown corpus {unknown} in --corpus-epochs; choose from {sorted(presets)}")
    protocol = Protocol(paper, args.runs, args.epochs, dict(args.corpus_epochs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for number in args.tables:
        if number == 5:
            accuracy_table(protocol, out)
        else:
            mse_table(protocol, number, out)
        print((out / f"table{number}.md").read_text())
    figures(protocol, args.tables, out)


if __name__ == "__main__":
    main()
