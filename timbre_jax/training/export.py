"""The float16 export of a trained run as a model `--model NAME` plays (the user's models
folder by default; results/pretrained/NAME for the models the project ships).

An exported model is a run folder with only `checkpoints/best` (its parameters in float16,
read back as float32 by `model.run.load_run`), `pretrained.json` (the source run, its test MSE with
float32 and with float16 weights) and `embedding_train.npz` (the training latents as float16,
so the panel draws them without the corpus). Only sigmoid-bottleneck models are exported
(their latent span is (0, 1) without the corpus), and only if the float16 copy changes the
test MSE by less than `MAX_MSE_CHANGE`. A 2-D note model starts the synth where the most
trained notes decode right on its mesh (`start_point`, from the run's mesh_notes.npz), and
ships that mesh, subsampled, as note_map.npz (the panel shades the pad with it:
analysis/note_map.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np

from timbre_jax.analysis.embedding import STORED_EMBEDDING, encode_split
from timbre_jax.analysis.note_map import write_shipped_map
from timbre_jax.corpus.workspace import atomic_output_dir
from timbre_jax.errors import ParameterError
from timbre_jax.model.checkpoint import BEST, Checkpoints
from timbre_jax.model.run import PRETRAINED_DIR, PRETRAINED_INFO, Run, is_shipped
from timbre_jax.training import distributed
from timbre_jax.training.data import load_device_split
from timbre_jax.training.loop import make_evaluate

MAX_MSE_CHANGE = 0.01  # relative change of the test MSE allowed by the float16 copy


def start_point(run: Run) -> list[float] | None:
    """The point of the run's 2-D mesh (mesh_notes.npz) where the most trained notes decode as
    themselves (ties: the one nearest the centre); None without a note model's mesh."""
    path = run.folder / "mesh_notes.npz"
    if not path.is_file() or run.trained_notes is None:
        return None
    data = np.load(path)
    if str(data["conditioning"]) != "note":
        return None
    conditions = data["conditions"].tolist()
    trained = [k for k, n in enumerate(conditions) if n in run.trained_notes]
    right = (data["notes"][trained] == np.asarray(conditions)[trained, None, None]).sum(axis=0)
    points = right.shape[0]
    centres = (np.arange(points) + 0.5) / points
    low0, high0, low1, high1 = data["extent"]
    z0, z1 = np.meshgrid(low0 + centres * (high0 - low0), low1 + centres * (high1 - low1),
                         indexing="ij")  # fmt: skip
    distance = (z0 - (low0 + high0) / 2) ** 2 + (z1 - (low1 + high1) / 2) ** 2
    best = np.lexsort((distance.ravel(), -right.ravel()))[0]
    return [round(float(z0.ravel()[best]), 4), round(float(z1.ravel()[best]), 4)]


def corpus_name(run: Run) -> str:
    """The run's corpus relative to the repository (data/corpora/NAME) where it lies inside it."""
    corpus = run.corpus.absolute()
    root = PRETRAINED_DIR.parents[1]
    return str(corpus.relative_to(root)) if corpus.is_relative_to(root) else str(corpus)


def mse_on_test_split(run: Run, *param_sets) -> list[float]:
    """Test-split MSE of each set of parameters of the run's model, on its corpus."""
    mesh = distributed.data_mesh()
    test = load_device_split(run.corpus, "test", mesh, conditioning=run.conditioning)
    evaluate = make_evaluate(run.model, mesh, batch_size=1000)
    return [evaluate(params, test) for params in param_sets]


def check_target(out: Path, *, overwrite: bool) -> None:
    """Refuses to replace a shipped model (ever), anything that is not an exported model, and
    an exported model without `overwrite`."""
    if not out.exists():
        return
    if is_shipped(out):
        raise ParameterError(f"{out.name!r} is a shipped model ({out}): never replaced; export "
                             "under another --name")  # fmt: skip
    if not (out / PRETRAINED_INFO).is_file():
        raise ParameterError(f"{str(out)!r} exists and is not a pretrained model: not replaced")
    if not overwrite:
        raise ParameterError(f"{str(out)!r} exists: give --overwrite to replace it")


def export(run: Run, out: str | Path, *, overwrite: bool = False) -> dict:
    """Writes the run's best parameters in float16 to `out`; returns pretrained.json.

    Raises:
      ParameterError: the run has not trained to the end (no final.json), a bottleneck without
        a fixed span (the panel needs one without the corpus), `out` is a shipped model, is not
        an exported model, or is one and `overwrite` is off, or float16 changes the test MSE by
        `MAX_MSE_CHANGE` or more.
    """
    out = Path(out)
    check_target(out, overwrite=overwrite)
    final = run.final()
    if final is None:
        raise ParameterError(f"{str(run.folder)!r} has no final.json: train it to the end first")
    if run.bottleneck != "sigmoid":
        raise ParameterError("only sigmoid-bottleneck models are exported (their span is fixed)")
    half = jax.tree.map(lambda a: np.asarray(a, np.float16), run.params)
    half_as_float32 = jax.tree.map(lambda a: a.astype(np.float32), half)
    mse32, mse16 = mse_on_test_split(run, run.params, half_as_float32)
    change = abs(mse16 - mse32) / mse32
    if change >= MAX_MSE_CHANGE:
        raise ParameterError(f"float16 weights change the test MSE by {100 * change:.2f}%")
    info = {
        "source_run": str(run.folder),
        "epoch": run.meta["epoch"],
        "epochs": final["epochs"],
        "test_mse_float32": mse32,
        "test_mse_float16": mse16,
        "relative_change": change,
    }
    embedding = encode_split(run, "train")
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "checkpoints" / BEST).mkdir(parents=True)
        checkpoints = Checkpoints(tmp, which=(BEST,))
        meta = run.meta | {"corpus": corpus_name(run)}
        start = start_point(run)
        if start is not None:
            meta["start_latent"] = start
            info["start_latent"] = start
        info["note_map"] = write_shipped_map(run, tmp)
        checkpoints.save(BEST, meta["epoch"], half, meta)
        checkpoints.wait()
        checkpoints.close()
        np.savez_compressed(
            tmp / STORED_EMBEDDING,
            latents=embedding["latents"].astype(np.float16),
            note=embedding["note"].astype(np.int8),
        )
        (tmp / PRETRAINED_INFO).write_text(json.dumps(info, indent=1) + "\n")
    return info
