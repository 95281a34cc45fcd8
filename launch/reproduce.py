"""Reproduces the paper's Tables I-V and Figures 2-5 into results/, a row at a time.

    python launch/reproduce.py --plan            # what is still short of 300 epochs, and how long
    python launch/reproduce.py --limit 1         # train the plan's next row, then land it
    python launch/reproduce.py --rows table3_lrelu --seeds 1
    python launch/reproduce.py                   # the whole plan, in order

The committed tables in OUT (results/tableN.csv) are the record: the plan is every (row, seed)
whose line in some table is missing or short of the paper's 300 epochs, most informative first
(`PLAN`). Each entry trains `configs/paper.py`'s row (resuming an interrupted run in
RUNS/ROW[_seedS]) and then lands: its line in every table that has it is replaced (the test
MSEs, epochs, minutes, frames/s, device and this machine's CPU); a Table V row also gets its
mesh accuracies at the paper's mesh size, and figure4/figure5 its mesh class map; a 2-D row
stores its training embedding (OUT/embeddings/ROW.npz, subsampled) and its latent sweep
(OUT/audio/ROW.wav), and figure2/figure3 are drawn once all four rows of their table are
stored. Other lines are kept as they are, so a table can hold rows of several protocols: its
caption says so until the last reaches 300 epochs.

With `--epochs E` (not 300, e.g. `--epochs 1` to test the whole path quickly) rows train into
RUNS_eE and land in OUT/tableN_eE.* and OUT/figureN_eE.png instead: the shortened protocol's
figures stay beside the paper's. Corpora are built into data/corpora/ when missing.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from timbre_jax.analysis import mesh_sweep, plots
from timbre_jax.analysis.embedding import encode_split, run_coverage
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.corpus.build import build_corpus
from timbre_jax.corpus.render import render_preset
from timbre_jax.corpus.store import CORPUS_FORMAT, load_metadata
from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.model.run import load_run
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.training.config import config_module
from timbre_jax.training.throughput import SyntheticSteps

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
SEEDS = {2: (0, 1, 2), 3: (0, 1)}  # seeds of every row of these tables; other rows: seed 0
EMBEDDING_FIGURES = {2: 2, 3: 3}  # figure number: the table whose four 2-D runs it shows
MESH_FIGURES = {4: "table2_sigmoid_skip", 5: "table3_sigmoid_skip"}
EMBEDDING_POINTS = 20_000  # training frames kept per stored embedding (the figure's scatter)


class Entry(NamedTuple):
    row: str
    seed: int


# Most informative first: the synth's violin rows, Table I, Table IV, Table V's 8-D rows, the
# Table II model whose Table V mesh is still at 50 epochs; then the seeds.
PLAN = [
    *(Entry(r, 0) for r in ["table3_sigmoid_skip", "table3_lrelu_skip", "table3_sigmoid",
                            "table3_lrelu"]),
    *(Entry(r, 0) for r in TABLE_ROWS[1]),
    *(Entry(r, 0) for r in ["table4_violin_skip", "table4_violin", "table4_one_octave_skip",
                            "table4_one_octave"]),
    *(Entry(r, 0) for r in ["table5_violin_8d", "table5_one_octave_8d"]),
    *(Entry(r, 0) for r in TABLE_ROWS[2]),
    *(Entry(r, s) for s in SEEDS[2][1:] for r in TABLE_ROWS[2]),
    *(Entry(r, s) for s in SEEDS[3][1:] for r in TABLE_ROWS[3]),
]  # fmt: skip
MSE_HEADER = ["row", "seed", "corpus", "latent", "bottleneck", "skip", "augment",
              "paper test MSE", "our test MSE (final)", "our test MSE (best val.)", "epochs",
              "paper minutes", "our minutes", "frames/s", "device", "host CPU"]  # fmt: skip
ACCURACY_HEADER = ["model", "source", "epochs", "mesh length", *mesh_sweep.NAMES, "interior",
                   "shell"]  # fmt: skip


def load_paper_configs():
    """configs/paper.py: the rows, the paper's MSEs and Table V."""
    return config_module(ROOT / "configs" / "paper.py")


def host_cpu() -> str:
    """This machine's CPU model, e.g. "AMD EPYC" (from /proc/cpuinfo)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def ensure_corpus(path: Path) -> dict:
    """Renders and builds data/corpora/PRESET unless it is there in the current format;
    returns its corpus.json."""
    meta = path / "corpus.json"
    if not (meta.is_file() and json.loads(meta.read_text())["format"] == CORPUS_FORMAT):
        audio = path.parent.parent / "audio" / path.name
        if not (audio / "manifest.json").is_file():
            render_preset(path.name, audio, overwrite=True)
        build_corpus(audio, path, overwrite=True)
    return load_metadata(path)


class Protocol:
    """Where an entry trains and lands: RUNS/ROW[_seedS] and OUT/tableN (300 epochs), or
    RUNS_eE/... and OUT/tableN_eE (`epochs` E)."""

    def __init__(self, paper, runs: str | Path, out: str | Path, epochs: int = PAPER_EPOCHS,
                 corpora: str | Path = ROOT / "data" / "corpora"):  # fmt: skip
        self.paper, self.epochs, self.out, self.corpora = paper, epochs, Path(out), Path(corpora)
        self.suffix = "" if epochs == PAPER_EPOCHS else f"_e{epochs}"
        self.runs = Path(f"{runs}{self.suffix}")

    def workdir(self, entry: Entry) -> Path:
        return self.runs / (entry.row if entry.seed == 0 else f"{entry.row}_seed{entry.seed}")

    def stem(self, table: int) -> str:
        return f"table{table}{self.suffix}"

    def corpus(self, row: str) -> Path:
        """CORPORA/PRESET: the row's corpus."""
        return self.corpora / Path(self.paper.ROWS[row][0]).name


def tables_of(entry: Entry) -> list[int]:
    """The tables that hold a line of this entry: its MSE table(s), and Table V for seed 0."""
    numbers = [n for n, rows in TABLE_ROWS.items() if n != 5 and entry.row in rows]
    return numbers + ([5] if entry.seed == 0 and entry.row in TABLE_ROWS[5] else [])


# --- the tables: CSV is the record, Markdown is drawn from it ---------------------------------


def read_lines(path: Path) -> list[dict]:
    """The lines of a table's CSV as dicts (an older CSV's missing columns read as "-", seed 0)."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{"seed": "0"} | line for line in csv.DictReader(f)]


def line_key(table: int, line: dict) -> tuple:
    return (line["model"], line["source"]) if table == 5 else (line["row"], int(line["seed"]))


def entry_key(paper, table: int, entry: Entry) -> tuple:
    """The key of the entry's line of our own in a table (see `line_key`)."""
    return (paper.PAPER_TABLE5[entry.row][0], "ours") if table == 5 else (entry.row, entry.seed)


def caption(epochs: set[int]) -> str:
    if epochs == {PAPER_EPOCHS}:
        return "the paper's protocol (300 epochs, batch 200, Adam 5e-4, L2 1e-7)"
    return (
        f"a SHORTENED protocol: {' or '.join(map(str, sorted(epochs)))} epochs (see the epochs "
        "column) instead of the paper's 300 (batch 200, Adam 5e-4, L2 1e-7); our figures are not "
        "comparable to the paper's as they stand"
    )


def markdown(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows]


def seed_summary(lines: list[dict]) -> list[str]:
    """Markdown: per row with more than one seed, the final test MSE's mean, standard deviation
    and range over its seeds (empty if no row has two)."""
    by_row: dict[str, list[float]] = {}
    for line in lines:
        by_row.setdefault(line["row"], []).append(float(line["our test MSE (final)"]))
    rows = [
        [row, len(v), f"{statistics.mean(v):.3e}", f"{statistics.stdev(v):.1e}",
         f"{min(v):.3e} - {max(v):.3e}", f"{statistics.stdev(v) / statistics.mean(v):.1%}"]
        for row, v in by_row.items() if len(v) > 1
    ]  # fmt: skip
    if not rows:
        return []
    header = ["row", "seeds", "mean test MSE (final)", "sd", "range", "sd / mean"]
    return ["", "Over seeds:", "", *markdown(header, rows)]


@contextlib.contextmanager
def replacing(path: Path):
    """Yields a temporary path beside `path` (same suffix) to write, then puts it in place:
    a reader, or a landing cut short, never meets half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".partial.{path.name}")
    yield tmp
    os.replace(tmp, path)


def write_table(out: Path, stem: str, number: int, header: list[str], lines: list[dict]) -> None:
    """OUT/STEM.csv, and OUT/STEM.md: the caption (from the epochs of our lines), the table and,
    for an MSE table with several seeds of a row, their mean and spread."""
    ours = [line for line in lines if line.get("source", "ours") == "ours"]
    title = f"Table {number}, {caption({int(line['epochs']) for line in ours})}."
    rows = [[line.get(h, "-") for h in header] for line in lines]
    extra = [] if number == 5 else seed_summary(lines)
    with replacing(out / f"{stem}.md") as tmp:
        tmp.write_text("\n".join([title, "", *markdown(header, rows), *extra]) + "\n")
    with replacing(out / f"{stem}.csv") as tmp, open(tmp, "w", newline="") as f:  # the record
        writer = csv.DictWriter(f, header, restval="-", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(lines)


def upsert(protocol: Protocol, number: int, line: dict) -> None:
    """Replaces (or adds, in the table's row order) the line of table `number` with its key."""
    header = ACCURACY_HEADER if number == 5 else MSE_HEADER
    path = protocol.out / f"{protocol.stem(number)}.csv"
    lines = [x for x in read_lines(path) if line_key(number, x) != line_key(number, line)]
    lines.append(line)
    if number == 5:
        order = [protocol.paper.PAPER_TABLE5[r][0] for r in TABLE_ROWS[5]]
        lines.sort(key=lambda x: (order.index(x["model"]), x["source"] != "paper"))
    else:
        lines.sort(key=lambda x: (TABLE_ROWS[number].index(x["row"]), int(x["seed"])))
    write_table(protocol.out, protocol.stem(number), number, header, lines)


def mse_line(protocol: Protocol, entry: Entry, final: dict) -> dict:
    corpus, latent, bottleneck, skip, augment = protocol.paper.ROWS[entry.row]
    paper_mse, paper_minutes = protocol.paper.PAPER_MSE[entry.row]
    values = [entry.row, entry.seed, Path(corpus).name, latent, bottleneck, skip, augment,
              f"{paper_mse:.3e}", f"{final['test_mse_final']:.3e}",
              f"{final['test_mse_best']:.3e}", final["epochs"], paper_minutes,
              f"{final['train_seconds'] / 60:.1f}", f"{final['frames_per_second']:.0f}",
              final["device"], host_cpu()]  # fmt: skip
    return dict(zip(MSE_HEADER, map(str, values), strict=True))


def accuracy_lines(protocol: Protocol, entry: Entry, result: dict, epochs: int) -> list[dict]:
    """Table V's paper line and our line for one model, from its mesh.json."""
    name, points, paper_cells = protocol.paper.PAPER_TABLE5[entry.row]
    ours = ["-" if v is None else f"{v:.3f}" for v in result["accuracy"].values()]
    paper = [name, "paper", PAPER_EPOCHS, points, *paper_cells.split(), "", ""]
    mine = [name, "ours", epochs, points, *ours, f"{result['interior_accuracy']:.3f}",
            f"{result['shell_accuracy']:.3f}"]  # fmt: skip
    return [dict(zip(ACCURACY_HEADER, map(str, v), strict=True)) for v in (paper, mine)]


# --- the plan --------------------------------------------------------------------------------


def pending(protocol: Protocol) -> list[tuple[Entry, list[int]]]:
    """The plan's entries with a line missing or short of 300 epochs in the paper protocol's
    tables, each with those tables' numbers, in the plan's order."""
    lines = {n: {line_key(n, x): x for x in read_lines(protocol.out / f"table{n}.csv")}
             for n in TABLE_ROWS}  # fmt: skip
    todo = []
    for entry in PLAN:
        short = [n for n in tables_of(entry)
                 if int(lines[n].get(entry_key(protocol.paper, n, entry), {}).get("epochs", 0))
                 != PAPER_EPOCHS]  # fmt: skip
        if short:
            todo.append((entry, short))
    return todo


def print_plan(protocol: Protocol, todo: list[tuple[Entry, list[int]]]) -> None:
    """Each pending entry with its corpus, training frames and estimated minutes at the
    training step's frames/s measured now on this machine (the loop adds validation, about
    3%); Table V's meshes add a minute or two each."""
    from timbre_jax.training.distributed import describe_devices

    fps = SyntheticSteps(protocol.paper.get_config(PLAN[0].row)).frames_per_second()
    print(f"training step: {fps:.0f} frames/s on {describe_devices()}, {host_cpu()}")
    header = ["#", "row", "seed", "corpus", "train frames", "epochs", "est. minutes", "for"]
    rows, total = [], 0.0
    for k, (entry, tables) in enumerate(todo, 1):
        corpus = protocol.corpus(entry.row)
        frames = ensure_corpus(corpus)["splits"]["train"]["frames"]
        minutes = frames * protocol.epochs / fps / 60
        total += minutes
        reasons = ", ".join(f"Table {n}" + (" (mesh)" if n == 5 else "") for n in tables)
        rows.append([k, entry.row, entry.seed, corpus.name, frames, protocol.epochs,
                     f"{minutes:.0f}", reasons])  # fmt: skip
    print("\n".join(markdown(header, rows)))
    print(f"{len(todo)} entries, about {total / 60:.1f} hours of training at this rate")


# --- training and landing ---------------------------------------------------------------------


def train_command(protocol: Protocol, entry: Entry) -> list[str]:
    """The training command of an entry: `python -m timbre_jax.train` on its paper row."""
    return [sys.executable, "-m", "timbre_jax.train",
            "--config", f"{ROOT / 'configs' / 'paper.py'}:{entry.row}",
            "--workdir", str(protocol.workdir(entry)),
            f"--config.corpus={protocol.corpus(entry.row)}", f"--config.seed={entry.seed}",
            f"--config.train.epochs={protocol.epochs}"]  # fmt: skip


def start_training(protocol: Protocol, entry: Entry, to_log: bool):
    """Starts the entry's training command; returns the process and its log file (None: the
    output goes to this process's)."""
    ensure_corpus(protocol.corpus(entry.row))
    workdir = protocol.workdir(entry)
    log = None
    if to_log:
        workdir.parent.mkdir(parents=True, exist_ok=True)
        log = open(workdir.parent / f"{workdir.name}.log", "w")  # noqa: SIM115
        print(f"training {workdir} (log: {log.name})", flush=True)
    output = {"stdout": log, "stderr": subprocess.STDOUT} if log else {}
    return subprocess.Popen(train_command(protocol, entry), **output), log


def run_plan(protocol: Protocol, entries: list[Entry], parallel: int = 1) -> None:
    """Trains the entries (resuming interrupted runs), `parallel` training commands at a time,
    and lands each as it finishes. With `parallel` > 1 each command's output goes to its
    RUNS/NAME.log."""
    waiting, running, failed = list(entries), {}, []
    try:
        while waiting or running:
            while waiting and len(running) < parallel and not failed:
                entry = waiting.pop(0)
                if (protocol.workdir(entry) / "final.json").is_file():
                    land(protocol, entry, protocol.workdir(entry))
                else:
                    running[entry] = start_training(protocol, entry, to_log=parallel > 1)
            if failed and not running:
                break
            time.sleep(0.1 if parallel == 1 else 5)
            for entry, (process, log) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[entry]
                if log:
                    log.close()
                if process.returncode == 0:
                    land(protocol, entry, protocol.workdir(entry))
                else:  # the others finish and land; no new one starts
                    failed.append(f"{protocol.workdir(entry)} (exit {process.returncode})")
    finally:  # interrupted: each training saves where it is and says how to resume
        for process, _ in running.values():
            process.send_signal(signal.SIGINT)
        for process, _ in running.values():
            process.wait()
    if failed:
        raise SystemExit(f"error: training failed: {', '.join(failed)}")


def ensure_mesh(workdir: Path, points: int) -> dict:
    """The run's mesh.json at `points` per dimension, swept unless it is there with its class
    map (a 2-D model's figure)."""
    path = workdir / "mesh.json"
    stale = not path.is_file() or json.loads(path.read_text())["points_per_dim"] != points
    if stale or (load_run(workdir).latent_dim == 2
                 and not (workdir / "plots" / "mesh_classes.png").is_file()):  # fmt: skip
        path.write_text(json.dumps(mesh_sweep.sweep(load_run(workdir), points=points), indent=1))
    return json.loads(path.read_text())


def store_embedding(run, path: Path, points: int = EMBEDDING_POINTS) -> None:
    """OUT/embeddings/ROW.npz: `points` training frames' latents (float16) and classes, drawn
    evenly, with the coverage of the run's span by all of them (Figures 2-3's titles)."""
    embedding = encode_split(run, "train")
    latents = embedding["latents"]
    keep = np.linspace(0, len(latents) - 1, min(points, len(latents))).astype(int)
    with replacing(path) as tmp:
        np.savez_compressed(tmp, latents=latents[keep].astype(np.float16),
                            note=embedding["note"][keep].astype(np.int8),
                            coverage=run_coverage(run, latents),
                            sigmoid=run.bottleneck == "sigmoid",
                            skip=bool(run.meta["model"]["chroma_skip"]))  # fmt: skip


def embedding_figure(protocol: Protocol, number: int) -> bool:
    """figureN: the four stored 2-D embeddings of its table in the paper's 2 x 2 layout, if
    all four are stored; returns whether it was drawn."""
    table = EMBEDDING_FIGURES[number]
    paths = [protocol.out / "embeddings" / f"{r}{protocol.suffix}.npz" for r in TABLE_ROWS[table]]
    if not all(p.is_file() for p in paths):
        return False
    panels = {}
    for row, path in zip(TABLE_ROWS[table], paths, strict=True):
        stored = np.load(path)
        name = f"{row}, fills {float(stored['coverage']):.0%} of its span"
        cell = (bool(stored["sigmoid"]), bool(stored["skip"]))
        panels[cell] = (stored["latents"].astype(np.float32), stored["note"], name)
    with replacing(protocol.out / f"figure{number}{protocol.suffix}.png") as tmp:
        plots.plot_embedding_grid(panels, tmp)
    return True


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
    with replacing(path) as tmp:
        write_wav(tmp, np.concatenate(audio), sample_rate=engine.sample_rate)


def land(protocol: Protocol, entry: Entry, workdir: Path) -> None:
    """Writes a finished run into every table, figure and sound that shows it."""
    final = json.loads((workdir / "final.json").read_text())
    lines = {n: [mse_line(protocol, entry, final)] for n in tables_of(entry) if n != 5}
    if 5 in tables_of(entry):  # the mesh, its figure, then its lines
        result = ensure_mesh(workdir, protocol.paper.PAPER_TABLE5[entry.row][1])
        figure = {row: n for n, row in MESH_FIGURES.items()}.get(entry.row)
        if figure:
            with replacing(protocol.out / f"figure{figure}{protocol.suffix}.png") as tmp:
                shutil.copy(workdir / "plots" / "mesh_classes.png", tmp)
        lines[5] = accuracy_lines(protocol, entry, result, final["epochs"])
    if protocol.paper.ROWS[entry.row][1] == 2 and entry.seed == 0:
        run = load_run(workdir)
        store_embedding(run, protocol.out / "embeddings" / f"{entry.row}{protocol.suffix}.npz")
        sweep_audio(workdir, protocol.out / "audio" / f"{entry.row}{protocol.suffix}.wav")
        for number, table in EMBEDDING_FIGURES.items():
            if entry.row in TABLE_ROWS[table]:
                embedding_figure(protocol, number)
    for number, table_lines in lines.items():  # the record last: a landing cut short is redone
        for line in table_lines:
            upsert(protocol, number, line)
    print(f"landed {entry.row} seed {entry.seed}: " + ", ".join(
        f"{protocol.stem(n)}.md" for n in tables_of(entry)))  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="store_true", help="print what is pending; train nothing")
    parser.add_argument("--rows", nargs="+", help="only these rows of the plan")
    parser.add_argument("--seeds", type=int, nargs="+", help="only these seeds of the plan")
    parser.add_argument("--limit", type=int, help="at most this many entries of the plan")
    parser.add_argument("--epochs", type=int, default=PAPER_EPOCHS,
                        help="epochs of every row; not 300: lands in tableN_eE")  # fmt: skip
    parser.add_argument("--parallel", type=int, default=1,
                        help="training commands at a time (a GPU runs several well)")  # fmt: skip
    parser.add_argument("--runs", default="runs/paper", help="folder of the runs")
    parser.add_argument("--out", default="results", help="folder of the tables and figures")
    args = parser.parse_args(argv)
    paper = load_paper_configs()
    unknown = sorted(set(args.rows or []) - set(paper.ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {sorted(paper.ROWS)}")
    if min(args.epochs, args.parallel, 1 if args.limit is None else args.limit) < 1:
        parser.error("--epochs, --parallel and --limit must be at least 1")
    protocol = Protocol(paper, args.runs, args.out, args.epochs)
    protocol.out.mkdir(parents=True, exist_ok=True)
    wanted = [
        (e, t)
        for e, t in pending(protocol)
        if (not args.rows or e.row in args.rows) and (not args.seeds or e.seed in args.seeds)
    ]
    todo = wanted[: args.limit]
    if not todo:
        print("nothing pending" + (" for these --rows/--seeds" if args.rows or args.seeds
                                   else ": every table line is at 300 epochs"))  # fmt: skip
        return
    if args.plan:
        print_plan(protocol, todo)
        return
    run_plan(protocol, [entry for entry, _ in todo], args.parallel)


if __name__ == "__main__":
    sys.exit(main())
