"""Mesh sweeps: how much of the latent space sounds the conditioned note (paper Table V, Figs.
4-5), as a pitch class and as an exact note.

The conditions are the 12 pitch classes for a chroma model, and every note of the trained
range for a note model. For each, the latent space is sampled on a regular N^d mesh (cell
centres) or at M scrambled Sobol points, every point is decoded with that conditioning
vector, and the decoded frame is measured twice:

- its chroma class (the corpus's chroma method), against the conditioned pitch class: the
  paper's Table V accuracy;
- its note (`dsp.note_estimate`), against the conditioned note: the exact-note accuracy, the
  estimator's pitch-class accuracy, the octave errors (right class, wrong octave), and the
  share of frames with no clear pitch (`note_estimate.is_pitched`), which count as wrong. A
  chroma model cannot be told the octave, so its exact-note accuracy asks, for each note of
  the training split's range, how often the decode of that note's class is that very note:
  the two kinds compare on one scale.

By default N = 350, 50, 5 for d = 2, 3, 8 as in the paper for a chroma model; a note model
gets as many decodes in all (fewer points per condition), about a minute for a 2-D table on
a 2-core CPU. The mesh spans the run's playable span (`embedding.latent_span`). Points within
`SHELL` of the span from any face are the shell; the rest the interior.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from timbre_jax.analysis import plots
from timbre_jax.analysis.decode_measure import make_classifier, unit_mesh_points
from timbre_jax.analysis.embedding import encode_split, latent_span
from timbre_jax.corpus.store import load_split
from timbre_jax.dsp import chroma
from timbre_jax.dsp.chroma import MIDI_HIGH, MIDI_LOW, note_name
from timbre_jax.dsp.note_estimate import note_templates
from timbre_jax.errors import ParameterError
from timbre_jax.model.conditioning import condition_of_pitches
from timbre_jax.model.run import Run
from timbre_jax.progress import progress_bar

PAPER_POINTS = {2: 350, 3: 50, 8: 5}  # points per dimension in the paper's Table V
SHELL = 0.1  # fraction of the span, from each face, that counts as the boundary shell
MEMORY_LIMIT = 2 * 2**30  # bytes of host memory a sweep may use
BYTES_PER_POINT = 4 * 2049 * 4  # a decoded frame in float32 and its intermediates, x4
CPU_CHUNK, ACCELERATOR_CHUNK = 1024, 8192  # points per call: a CPU's caches favour fewer
MAX_SWEEP_HOURS = 6  # a sweep estimated to take longer is refused before it starts
MAX_FIGURE_POINTS = 1000  # 2-D meshes up to this many points per side keep their images
NAMES = plots.NOTE_NAMES
N_KEYS = MIDI_HIGH - MIDI_LOW + 1  # the estimator's 88 notes


def default_points(latent_dim: int, conditions: int = 12) -> int:
    """Points per dimension: the paper's N for 2, 3 and 8 dimensions (else about 150,000
    points) with 12 conditions; with more conditions, the same number of decodes in all."""
    paper = PAPER_POINTS.get(latent_dim, 150_000 ** (1 / latent_dim))
    return max(2, round(paper * (12 / conditions) ** (1 / latent_dim)))


def default_chunk() -> int:
    return CPU_CHUNK if jax.default_backend() == "cpu" else ACCELERATOR_CHUNK


def training_pitches(corpus: str | Path) -> np.ndarray:
    """MIDI notes sounded in the training split (sorted; empty without pitch labels)."""
    pitch = np.asarray(load_split(corpus, "train").pitch)
    return np.unique(pitch[pitch >= 0])


def training_notes(corpus: str | Path) -> list[int]:
    """Note classes sounded in the training split (ground-truth pitch, else chroma)."""
    pitches = training_pitches(corpus)
    if pitches.size:
        return sorted(set((pitches % 12).tolist()))
    return sorted(set(np.argmax(load_split(corpus, "train").chroma, axis=1).tolist()))


def sweep_conditions(run: Run) -> np.ndarray:
    """What the sweep conditions on: the 12 classes (chroma) or the trained notes (MIDI)."""
    if run.conditioning == "chroma":
        return np.arange(12)
    low, high = run.note_range
    return np.arange(low, high + 1)


def check_sizes(run: Run, points, sobol, chunk) -> int:
    """Points per condition, after checking --points, --sobol and --chunk."""
    if not run.meta["model"]["chroma_skip"]:
        raise ParameterError(
            f"{str(run.folder)!r} has no chroma skip connection: its decoder is not conditioned "
            "on a note, so there is no conditioning class to match"
        )
    devices = len(jax.local_devices())
    if chunk < 1 or chunk % devices or chunk * BYTES_PER_POINT > MEMORY_LIMIT:
        raise ParameterError(
            f"--chunk {chunk} must be a positive multiple of the {devices} devices and at "
            f"most {MEMORY_LIMIT // BYTES_PER_POINT} points, to stay within the memory bound of "
            f"{MEMORY_LIMIT / 2**30:.0f} GB"
        )
    if sobol is not None:
        if sobol < 2:
            raise ParameterError(f"--sobol must be at least 2 points, got {sobol}")
        return sobol
    if points < 2:
        raise ParameterError(f"--points must be at least 2, got {points}")
    return points**run.latent_dim


def check_time(classify, z, vector, decodes: int) -> None:
    """Compiles the classifier, times one chunk, and refuses a sweep of `decodes` that would
    take more than `MAX_SWEEP_HOURS` on this machine (saying how long, before any work)."""
    jax.block_until_ready(classify(z, vector))  # compiles
    start = time.perf_counter()
    jax.block_until_ready(classify(z, vector))
    hours = decodes * (time.perf_counter() - start) / len(z) / 3600
    if hours > MAX_SWEEP_HOURS:
        raise ParameterError(f"the mesh asks for {decodes:.3g} decodes, about {hours:.3g} hours "
                             f"on this machine (at most {MAX_SWEEP_HOURS} h): ask for fewer "
                             "--points, or --sobol POINTS")  # fmt: skip


def sweep(run: Run, *, points: int | None = None, sobol: int | None = None,
          chunk: int | None = None, seed: int = 0, progress: bool = True) -> dict:  # fmt: skip
    """Decodes the mesh (or Sobol points) under every condition and measures the accuracies.

    Returns:
      What mesh.json holds (see `summarise`). For a 2-D mesh of at most `MAX_FIGURE_POINTS`
      per side, also writes mesh_notes.npz (the decoded notes), plots/mesh_notes.png (where
      the corpus has pitch labels) and, for a chroma model, plots/mesh_classes.png into the
      run's folder.
    """
    corpus_meta = run.corpus_metadata(what=f"mesh of {run.folder}")
    conditions = sweep_conditions(run)
    d = run.latent_dim
    if sobol is None and points is None:
        points = default_points(d, len(conditions))
    chunk = default_chunk() if chunk is None else chunk
    total = check_sizes(run, points, sobol, chunk)
    keep_image = sobol is None and d == 2 and points <= MAX_FIGURE_POINTS
    train = encode_split(run, "train") if keep_image or run.bottleneck != "sigmoid" else None
    low, high = latent_span(run, None if train is None else train["latents"])
    spectral = {"sample_rate": corpus_meta["sample_rate"], "n_fft": corpus_meta["n_fft"]}
    classify = make_classifier(run, chroma.filterbank(corpus_meta["chroma_method"], **spectral),
                               note_templates(**spectral))  # fmt: skip
    vectors = np.asarray(condition_of_pitches(conditions, run.conditioning))
    devices = jax.local_devices()
    sharding = NamedSharding(Mesh(np.asarray(devices), ("data",)), P("data"))
    check_time(classify, jax.device_put(np.zeros((chunk, d), np.float32), sharding), vectors[0],
               len(conditions) * total)  # fmt: skip
    images = np.zeros((2, len(conditions), total), np.int8) if keep_image else None
    if sobol is not None:
        from scipy.stats import qmc

        sobol_unit = qmc.Sobol(d, scramble=True, seed=seed).random(total)
    class_hits = np.zeros((len(conditions), 2), np.int64)  # [condition, (interior, shell)]
    notes = np.zeros((len(conditions), 2, N_KEYS + 1), np.int64)  # decoded notes, unpitched
    counts = np.zeros(2, np.int64)  # points in (interior, shell)
    start_time = time.perf_counter()  # after compilation
    for start in progress_bar(range(0, total, chunk), desc="mesh", unit="chunk", show=progress):
        stop = min(start + chunk, total)
        unit = (sobol_unit[start:stop] if sobol is not None
                else unit_mesh_points(np.arange(start, stop), points, d))  # fmt: skip
        shell = np.any((unit <= SHELL) | (unit >= 1 - SHELL), axis=1)
        counts += [np.sum(~shell), np.sum(shell)]
        z = np.zeros((chunk, d), np.float32)  # fixed shape: one compilation
        z[: stop - start] = low + unit * (high - low)
        z = jax.device_put(z, sharding)
        for k, (condition, vector) in enumerate(zip(conditions, vectors, strict=True)):
            classes, decoded = (np.asarray(a)[: stop - start] for a in classify(z, vector))
            match = classes == condition % 12
            class_hits[k] += [np.sum(match & ~shell), np.sum(match & shell)]
            keys = decoded.astype(np.int64) - MIDI_LOW
            notes[k, 0] += np.bincount(keys[~shell], minlength=N_KEYS + 1)
            notes[k, 1] += np.bincount(keys[shell], minlength=N_KEYS + 1)
            if images is not None:
                images[:, k, start:stop] = classes, decoded
    seconds = time.perf_counter() - start_time
    result = summarise(run, conditions, class_hits, notes, counts)
    result.update({
        "workdir": str(run.folder),
        "latent_dim": d,
        "sampling": "sobol" if sobol is not None else "mesh",
        "points_per_dim": points if sobol is None else None,
        "points_per_class": total,
        "span": [low.tolist(), high.tolist()],
        "seconds": seconds,
        "decodes_per_second": len(conditions) * total / seconds,
    })  # fmt: skip
    if images is not None:
        classes, decoded = images.reshape(2, len(conditions), points, points)
        extent = (low[0], high[0], low[1], high[1])
        np.savez(run.folder / "mesh_notes.npz", conditions=conditions, notes=decoded,
                 extent=np.asarray(extent), conditioning=run.conditioning)  # fmt: skip
        plot_sweep(run, conditions, classes, decoded, extent, train, points)
    return result


def summarise(run: Run, conditions: np.ndarray, class_hits: np.ndarray, notes: np.ndarray,
              counts: np.ndarray) -> dict:  # fmt: skip
    """mesh.json's accuracies from a sweep's counts.

    Args:
      conditions: [K] the classes (chroma model) or MIDI notes (note model) swept.
      class_hits: [K, 2] points whose chroma class is the condition's, (interior, shell).
      notes: [K, 2, 89] histograms of the decoded notes (the last: no clear pitch), (interior,
        shell).
      counts: [2] points per condition in (interior, shell).

    Returns:
      {"conditioning", "accuracy": {class name: pitch-class accuracy, None for a class the
      training split never sounds}, "mean_accuracy", "interior_accuracy", "shell_accuracy",
      "shell_fraction"} and, where the corpus has pitch labels, what `exact_note_summary`
      adds.
    """
    present = training_notes(run.corpus)
    pitches = training_pitches(run.corpus)
    classes = conditions % 12
    # a note model's class is scored on the notes of it the training split sounds
    scored = np.isin(conditions, pitches) if run.conditioning == "note" else classes >= 0
    hits = np.zeros((12, 2))  # per class, the mean over its scored conditions of the hits
    for c in set(classes[scored].tolist()):
        hits[c] = class_hits[scored & (classes == c)].mean(axis=0)
    region = hits[present] / np.maximum(counts, 1)
    result = {
        "conditioning": run.conditioning,
        "accuracy": {
            NAMES[c]: (float(hits[c].sum() / counts.sum()) if c in present else None)
            for c in range(12)
        },  # fmt: skip
        "mean_accuracy": float(np.mean(hits[present].sum(axis=1) / counts.sum())),
        "interior_accuracy": float(np.mean(region[:, 0])) if counts[0] else None,
        "shell_accuracy": float(np.mean(region[:, 1])) if counts[1] else None,
        "shell_fraction": float(counts[1] / counts.sum()),
    }
    if pitches.size:
        result.update(exact_note_summary(run.conditioning, conditions, notes, counts, pitches))
    return result


def note_rates(histogram: np.ndarray, note: int, counts: np.ndarray) -> dict[str, np.ndarray]:
    """[2] (interior, shell) rates of decoding `note` itself ("exact"), its pitch class in any
    octave ("pitch_class"), in a higher or lower octave, or no clear pitch ("no_pitch"), from
    a histogram [2, 89] of decoded notes (the last bin: no clear pitch)."""
    keys = np.arange(MIDI_LOW, MIDI_HIGH + 1)
    same_class = keys % 12 == note % 12
    points = np.maximum(counts, 1)
    return {
        "exact": histogram[:, note - MIDI_LOW] / points,
        "pitch_class": histogram[:, :N_KEYS][:, same_class].sum(axis=1) / points,
        "octave_above": histogram[:, :N_KEYS][:, same_class & (keys > note)].sum(axis=1) / points,
        "octave_below": histogram[:, :N_KEYS][:, same_class & (keys < note)].sum(axis=1) / points,
        "no_pitch": histogram[:, N_KEYS] / points,
    }


def exact_note_summary(conditioning: str, conditions: np.ndarray, notes: np.ndarray,
                       counts: np.ndarray, pitches: np.ndarray) -> dict:  # fmt: skip
    """The exact-note part of mesh.json, per note and averaged over the trained notes.

    A note model is scored on every note it was conditioned on; a chroma model on every
    note from the lowest to the highest the training split sounds, each with the decodes of
    its class.

    Returns:
      {"notes": {name: {"exact", "pitch_class", "octave_above", "octave_below", "no_pitch",
      "trained"}}, "exact_accuracy", "exact_interior_accuracy", "exact_shell_accuracy",
      "octave_above", "octave_below", "octave_error_rate" (their sum),
      "estimated_class_accuracy" (the estimator's pitch class), "no_pitch" (no clear pitch),
      "untrained_exact_accuracy" (over the swept notes the training split never sounds; None
      if there are none), and
      "mean_decoded_pitch" against "mean_trained_pitch": the mean MIDI pitch decoded over
      the mesh for each trained note, against the mean of those notes (does it sound high?)}.
    """
    trained = set(pitches.tolist())
    keys = np.arange(MIDI_LOW, MIDI_HIGH + 1)
    if conditioning == "note":
        swept, row = conditions, {int(n): k for k, n in enumerate(conditions)}
    else:
        swept = np.arange(pitches[0], pitches[-1] + 1)
        row = {int(n): n % 12 for n in swept}
    rates = {int(n): note_rates(notes[row[int(n)]], int(n), counts) for n in swept}
    overall = {n: {k: float(v @ counts / counts.sum()) for k, v in r.items()}
               for n, r in rates.items()}  # fmt: skip

    def mean(key: str, over) -> float | None:
        return float(np.mean([overall[n][key] for n in over])) if over else None

    def region_mean(i: int) -> float | None:
        return float(np.mean([rates[n]["exact"][i] for n in trained])) if counts[i] else None

    summary = {
        "notes": {note_name(n): overall[n] | {"trained": n in trained} for n in overall},
        "exact_accuracy": mean("exact", trained),
        "exact_interior_accuracy": region_mean(0),
        "exact_shell_accuracy": region_mean(1),
        "octave_above": mean("octave_above", trained),
        "octave_below": mean("octave_below", trained),
        "estimated_class_accuracy": mean("pitch_class", trained),
        "no_pitch": mean("no_pitch", trained),
        "untrained_exact_accuracy": mean("exact", set(overall) - trained),
        "mean_decoded_pitch": float(  # over the pitched decodes
            np.mean(
                [
                    notes[row[n]].sum(axis=0)[:N_KEYS]
                    @ keys
                    / max(notes[row[n]].sum(axis=0)[:N_KEYS].sum(), 1)
                    for n in trained
                ]
            )
        ),  # fmt: skip
        "mean_trained_pitch": float(np.mean(list(trained))),
    }
    summary["octave_error_rate"] = summary["octave_above"] + summary["octave_below"]
    return summary


def plot_sweep(run: Run, conditions: np.ndarray, classes: np.ndarray, decoded: np.ndarray,
               extent: tuple, train: dict, points: int) -> None:  # fmt: skip
    """plots/mesh_classes.png (Figs. 4-5: the decoded class, chroma models) and
    plots/mesh_notes.png (the decoded note against each note, one row per octave).

    Args:
      classes, decoded: [K, N, N] decoded chroma class and MIDI note per condition.
    """
    mesh = f"over a {points} x {points} mesh"
    if run.conditioning == "chroma":
        plots.plot_mesh_classes(
            classes, extent, run.folder / "plots" / "mesh_classes.png",
            embedding=(train["latents"], train["note"]), present=training_notes(run.corpus),
            title=f"{run.name}: decoded chroma class {mesh}",
        )  # fmt: skip
    pitches = training_pitches(run.corpus).tolist()
    if not pitches:
        return
    if run.conditioning == "note":
        images = dict(zip(conditions.tolist(), decoded, strict=True))
    else:
        images = {n: decoded[n % 12] for n in range(pitches[0], pitches[-1] + 1)}
    octaves = range(min(images) // 12, max(images) // 12 + 1)
    panels = [[(n, images[n]) if n in images else None for n in range(12 * o, 12 * o + 12)]
              for o in octaves]  # fmt: skip
    plots.plot_note_planes(
        panels, [extent] * len(panels), run.folder / "plots" / "mesh_notes.png",
        row_labels=[f"octave {o - 1}" for o in octaves], untrained=set(images) - set(pitches),
        title=f"{run.name} ({run.conditioning} conditioning): decoded note {mesh}",
    )  # fmt: skip


def table_row(result: dict, name: str | None = None) -> str:
    """A Markdown row in the paper's Table V format: model, mesh length, 12 accuracies."""
    name = name or Path(result["workdir"]).name
    length = result["points_per_dim"] or f"Sobol {result['points_per_class']}"
    cells = ["–" if v is None else f"{v:.3f}".lstrip("0") for v in result["accuracy"].values()]
    return f"| {name} | {length} | " + " | ".join(cells) + " |"


def load_results(workdirs: list[str | Path]) -> list[dict]:
    """The mesh.json of each run."""
    results = []
    for workdir in workdirs:
        path = Path(workdir) / "mesh.json"
        if not path.is_file():
            raise ParameterError(f"{str(workdir)!r} has no mesh.json: run timbre_jax.mesh on it")
        results.append(json.loads(path.read_text()))
    return results


def table_header() -> str:
    """The two header lines of Table V in Markdown."""
    return "| Model | Mesh Length | " + " | ".join(NAMES) + " |\n" + "|" + "---|" * (len(NAMES) + 2)


def table(workdirs: list[str | Path]) -> str:
    """Table V from the mesh.json of several runs."""
    return "\n".join([table_header()] + [table_row(r) for r in load_results(workdirs)])


def summary_line(result: dict) -> str:
    """One line: pitch-class and exact-note accuracy, interior and shell, octave errors."""

    def regions(prefix: str) -> str:
        found = [(r, result.get(f"{prefix}{r}_accuracy")) for r in ("interior", "shell")]
        return ", ".join(f"{r} {v:.3f}" for r, v in found if v is not None)

    line = f"pitch class {result['mean_accuracy']:.3f} ({regions('')})"
    if result.get("exact_accuracy") is not None:
        line += (
            f"; exact note {result['exact_accuracy']:.3f} ({regions('exact_')}); octave errors "
            f"{result['octave_error_rate']:.3f} (above {result['octave_above']:.3f}); estimated "
            f"class {result['estimated_class_accuracy']:.3f}; no clear pitch "
            f"{result['no_pitch']:.3f}"
        )
    return line
