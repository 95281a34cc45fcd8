"""Mesh sweeps: how much of the latent space sounds the conditioned note (paper Table V, Figs.
4-5).

For each of the 12 note classes, the chroma conditioning vector is set to that class, the
latent space is sampled on a regular N^d mesh (cell centres; N = 350, 50, 5 for d = 2, 3, 8 as
in the paper) or at M scrambled Sobol points, every point is decoded, and the chroma class of
the decoded frame (the corpus's chroma method) is compared with the conditioning class. The
mesh spans the run's playable span (`embedding.latent_span`). Points within `SHELL` of the
span from any face are the shell; the rest the interior.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from timbre_jax.analysis import plots
from timbre_jax.analysis.embedding import encode_split, latent_span
from timbre_jax.corpus.store import load_split
from timbre_jax.dsp import chroma
from timbre_jax.errors import ParameterError
from timbre_jax.progress import progress_bar
from timbre_jax.training.run import Run

PAPER_POINTS = {2: 350, 3: 50, 8: 5}  # points per dimension in the paper's Table V
SHELL = 0.1  # fraction of the span, from each face, that counts as the boundary shell
MEMORY_LIMIT = 2 * 2**30  # bytes of host memory a sweep may use
BYTES_PER_POINT = 4 * 2049 * 4  # a decoded frame in float32 and its intermediates, x4
MAX_FIGURE_POINTS = 1000  # 2-D meshes up to this many points per side keep a class image
NAMES = plots.NOTE_NAMES


def default_points(latent_dim: int) -> int:
    """The paper's N for 2, 3 and 8 dimensions; otherwise about 150,000 points."""
    return PAPER_POINTS.get(latent_dim, max(2, round(150_000 ** (1 / latent_dim))))


def unit_mesh_points(flat_index: np.ndarray, points: int, latent_dim: int) -> np.ndarray:
    """Cell centres in [0, 1]^d of the mesh points with these flat (C-order) indices."""
    index = np.stack(np.unravel_index(flat_index, (points,) * latent_dim), axis=1)
    return (index + 0.5) / points


def training_notes(corpus: str | Path) -> list[int]:
    """Note classes sounded in the training split (ground-truth pitch, else chroma)."""
    train = load_split(corpus, "train")
    pitch = np.asarray(train.pitch)
    if np.any(pitch >= 0):
        return sorted(set((pitch[pitch >= 0] % 12).tolist()))
    return sorted(set(np.argmax(train.chroma, axis=1).tolist()))


def make_classifier(run: Run, bank: np.ndarray):
    """Jitted (z [C, d], note) -> decoded chroma class [C], vmapped over latent points."""

    def decoded_class(z, one_hot):
        frame = run.apply(z[None], one_hot[None], method="decode")
        return jnp.argmax(chroma.chroma(frame[0], bank=bank))

    batched = jax.vmap(decoded_class, in_axes=(0, None))
    return jax.jit(lambda z, note: batched(z, jax.nn.one_hot(note, 12)))


def sweep(run: Run, *, points: int | None = None, sobol: int | None = None, chunk: int = 8192,
          seed: int = 0, progress: bool = True) -> dict:  # fmt: skip
    """Decodes the mesh (or Sobol points) for all 12 notes and measures chroma accuracy.

    Returns:
      What mesh.json holds: accuracy per note class (None for a class the training split
      never sounds), their mean, interior and shell accuracy, the span, timing. For a 2-D
      mesh of at most `MAX_FIGURE_POINTS` per side, also writes plots/mesh_classes.png.
    """
    if not run.meta["model"]["chroma_skip"]:
        raise ParameterError(
            f"{str(run.folder)!r} has no chroma skip connection: its decoder is not conditioned "
            "on a note, so there is no conditioning class to match"
        )
    if run.conditioning != "chroma":
        raise ParameterError(
            f"{str(run.folder)!r} is conditioned on notes: the mesh sweeps chroma models only "
            "so far"
        )
    corpus_meta = run.corpus_metadata(what=f"mesh of {run.folder}")
    d = run.latent_dim
    if sobol is None:
        points = default_points(d) if points is None else points
        if points < 2:
            raise ParameterError(f"--points must be at least 2, got {points}")
        total = points**d
    elif sobol < 2:
        raise ParameterError(f"--sobol must be at least 2 points, got {sobol}")
    else:
        total = sobol
    devices = jax.local_devices()
    if chunk < 1 or chunk % len(devices) or chunk * BYTES_PER_POINT > MEMORY_LIMIT:
        raise ParameterError(
            f"--chunk {chunk} must be a positive multiple of the {len(devices)} devices and at "
            f"most {MEMORY_LIMIT // BYTES_PER_POINT} points, to stay within the memory bound of "
            f"{MEMORY_LIMIT / 2**30:.0f} GB"
        )
    keep_image = sobol is None and d == 2 and points <= MAX_FIGURE_POINTS
    train = encode_split(run, "train") if keep_image or run.bottleneck != "sigmoid" else None
    low, high = latent_span(run, None if train is None else train["latents"])
    bank = chroma.filterbank(corpus_meta["chroma_method"], sample_rate=corpus_meta["sample_rate"],
                             n_fft=corpus_meta["n_fft"])  # fmt: skip
    classify = make_classifier(run, bank)
    sharding = NamedSharding(Mesh(np.asarray(devices), ("data",)), P("data"))
    image = np.zeros((12, total), np.int8) if keep_image else None
    if sobol is not None:
        from scipy.stats import qmc

        sobol_unit = qmc.Sobol(d, scramble=True, seed=seed).random(total)
    hits = np.zeros((12, 2), np.int64)  # [note, (interior, shell)] matches
    counts = np.zeros(2, np.int64)  # points in (interior, shell)
    classify(jax.device_put(np.zeros((chunk, d), np.float32), sharding), 0).block_until_ready()
    start_time = time.perf_counter()  # after compilation
    chunks = range(0, total, chunk)
    for start in progress_bar(chunks, desc="mesh", unit="chunk", show=progress):
        stop = min(start + chunk, total)
        unit = (sobol_unit[start:stop] if sobol is not None
                else unit_mesh_points(np.arange(start, stop), points, d))  # fmt: skip
        shell = np.any((unit <= SHELL) | (unit >= 1 - SHELL), axis=1)
        counts += [np.sum(~shell), np.sum(shell)]
        z = np.zeros((chunk, d), np.float32)  # fixed shape: one compilation
        z[: stop - start] = low + unit * (high - low)
        z = jax.device_put(z, sharding)
        for note in range(12):
            classes = np.asarray(classify(z, note))[: stop - start]
            match = classes == note
            hits[note] += [np.sum(match & ~shell), np.sum(match & shell)]
            if image is not None:
                image[note, start:stop] = classes
    seconds = time.perf_counter() - start_time
    present = training_notes(run.corpus)
    accuracy = hits.sum(axis=1) / total
    region = hits / np.maximum(counts, 1)
    result = {
        "workdir": str(run.folder),
        "latent_dim": d,
        "sampling": "sobol" if sobol is not None else "mesh",
        "points_per_dim": points if sobol is None else None,
        "points_per_class": total,
        "span": [low.tolist(), high.tolist()],
        "accuracy": {NAMES[n]: (float(accuracy[n]) if n in present else None) for n in range(12)},
        "mean_accuracy": float(np.mean(accuracy[present])),
        "interior_accuracy": float(np.mean(region[present, 0])) if counts[0] else None,
        "shell_accuracy": float(np.mean(region[present, 1])) if counts[1] else None,
        "shell_fraction": float(counts[1] / total),
        "seconds": seconds,
        "decodes_per_second": 12 * total / seconds,
    }
    if image is not None:
        plots.plot_mesh_classes(
            image.reshape(12, points, points), (low[0], high[0], low[1], high[1]),
            run.folder / "plots" / "mesh_classes.png",
            embedding=(train["latents"], train["note"]), present=present,
            title=f"{run.name}: decoded chroma class over a {points} x {points} mesh",
        )  # fmt: skip
    return result


def table_row(result: dict, name: str | None = None) -> str:
    """A Markdown row in the paper's Table V format: model, mesh length, 12 accuracies."""
    name = name or Path(result["workdir"]).name
    length = result["points_per_dim"] or f"Sobol {result['points_per_class']}"
    cells = ["–" if v is None else f"{v:.3f}".lstrip("0") for v in result["accuracy"].values()]
    return f"| {name} | {length} | " + " | ".join(cells) + " |"


def table(workdirs: list[str | Path]) -> str:
    """Table V from the mesh.json of several runs."""
    header = "| Model | Mesh Length | " + " | ".join(NAMES) + " |"
    lines = [header, "|" + "---|" * (len(NAMES) + 2)]
    for workdir in workdirs:
        path = Path(workdir) / "mesh.json"
        if not path.is_file():
            raise ParameterError(f"{str(workdir)!r} has no mesh.json: run timbre_jax.mesh on it")
        lines.append(table_row(json.loads(path.read_text())))
    return "\n".join(lines)
