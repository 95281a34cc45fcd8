"""Pretrained models shipped in results/pretrained/NAME: export a run, and find one by name.

    python -m timbre_jax.pretrained export --workdir runs/default --name one_octave
    python -m timbre_jax.synth --model one_octave

An exported model is a workdir with only `checkpoints/best` (its parameters in float16, read
back as float32 by `load_model`), `pretrained.json` (the source run, its test MSE with float32
and with float16 weights) and `embedding_train.npz` (the training latents as float16, so the
panel draws them without the corpus). Only sigmoid-bottleneck models are exported (their
latent span is (0, 1) without the corpus), and only if the float16 copy changes the test MSE
by less than 1%. Models are found in the repository's results/pretrained (an editable or
source install).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import jax
import numpy as np

from timbre_jax import distributed
from timbre_jax.checkpoint import BEST, Checkpoints, load_model
from timbre_jax.corpus.workspace import atomic_output_dir
from timbre_jax.dataset import load_device_split
from timbre_jax.embed import encode_split
from timbre_jax.errors import ParameterError
from timbre_jax.train import make_evaluate

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "results" / "pretrained"
MAX_MSE_CHANGE = 0.01  # relative change of the test MSE allowed by the float16 copy
INFO = "pretrained.json"


def names() -> list[str]:
    """Names of the models in results/pretrained."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / INFO).is_file())


def pretrained_workdir(name: str) -> Path:
    """The workdir of a shipped model, e.g. `one_octave`."""
    if name not in names():
        raise ParameterError(f"no pretrained model {name!r}; shipped: {names()}")
    return PRETRAINED_DIR / name


def corpus_name(loaded) -> str:
    """The run's corpus relative to the repository (data/corpora/NAME) where it lies inside it."""
    corpus = Path(loaded.meta["corpus"]).absolute()
    root = PRETRAINED_DIR.parents[1]
    return str(corpus.relative_to(root)) if corpus.is_relative_to(root) else str(corpus)


def mse_on_test_split(loaded, *param_sets) -> list[float]:
    """Test-split MSE of each set of parameters of a loaded model, on its corpus."""
    mesh = distributed.data_mesh()
    test = load_device_split(loaded.meta["corpus"], "test", mesh)
    evaluate = make_evaluate(loaded.model, mesh, batch_size=1000)
    return [evaluate(params, test) for params in param_sets]


def export(workdir: str | Path, out: str | Path) -> dict:
    """Writes the best parameters of `workdir` in float16 to `out`; returns pretrained.json.

    Raises:
      ParameterError: no final.json or checkpoint in `workdir`, a bottleneck without a fixed
        span (the panel needs one without the corpus), `out` exists and is not an exported
        model, or float16 changes the test MSE by `MAX_MSE_CHANGE` or more.
    """
    out = Path(out)
    if out.exists() and not (out / INFO).is_file():
        raise ParameterError(f"{str(out)!r} exists and is not a pretrained model: not replaced")
    if not (Path(workdir) / "final.json").is_file():
        raise ParameterError(f"{str(workdir)!r} has no final.json: train it to the end first")
    final = json.loads((Path(workdir) / "final.json").read_text())
    loaded = load_model(workdir)
    if loaded.meta["model"]["bottleneck"] != "sigmoid":
        raise ParameterError("only sigmoid-bottleneck models are exported (their span is fixed)")
    half = jax.tree.map(lambda a: np.asarray(a, np.float16), loaded.params)
    half_as_float32 = jax.tree.map(lambda a: a.astype(np.float32), half)
    mse32, mse16 = mse_on_test_split(loaded, loaded.params, half_as_float32)
    change = abs(mse16 - mse32) / mse32
    if change >= MAX_MSE_CHANGE:
        raise ParameterError(f"float16 weights change the test MSE by {100 * change:.2f}%")
    info = {
        "source_run": str(workdir),
        "epoch": loaded.meta["epoch"],
        "epochs": final["epochs"],
        "test_mse_float32": mse32,
        "test_mse_float16": mse16,
        "relative_change": change,
    }
    embedding = encode_split(workdir, "train")
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "checkpoints" / BEST).mkdir(parents=True)
        checkpoints = Checkpoints(tmp, which=(BEST,))
        meta = loaded.meta | {"corpus": corpus_name(loaded)}
        checkpoints.save(BEST, meta["epoch"], half, meta)
        checkpoints.wait()
        checkpoints.close()
        np.savez_compressed(
            tmp / "embedding_train.npz",
            latents=embedding["latents"].astype(np.float16),
            note=embedding["note"].astype(np.int8),
        )
        (tmp / INFO).write_text(json.dumps(info, indent=1) + "\n")
    return info


def model_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise argparse.ArgumentTypeError(f"a model name is letters, digits, _ and -: {text!r}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m timbre_jax.pretrained", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("export", help="store a run's best weights as a pretrained model")
    cmd.add_argument("--workdir", required=True, help="the run to export")
    cmd.add_argument("--name", required=True, type=model_name, help="e.g. one_octave")
    cmd.add_argument("--out", help="folder to write (default: results/pretrained/NAME)")
    args = parser.parse_args(argv)
    try:
        info = export(args.workdir, args.out or PRETRAINED_DIR / args.name)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"{args.name}: test MSE {info['test_mse_float32']:.4e} (float32), "
        f"{info['test_mse_float16']:.4e} (float16), change {100 * info['relative_change']:.3f}%"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
