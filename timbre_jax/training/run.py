"""A trained run, loaded once and passed around: `Run`, `load_run`, and the shipped models.

A run folder (a workdir, or an exported model in results/pretrained) holds the model's
checkpoints and what it says about itself. `load_run` reads it once; the analysis, the synth
and the exporter take the `Run` instead of re-reading the folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp

from timbre_jax.corpus.store import load_metadata
from timbre_jax.errors import ParameterError
from timbre_jax.training.checkpoint import BEST, LATEST, Checkpoints, check_spectral
from timbre_jax.training.models import Autoencoder

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "results" / "pretrained"
PRETRAINED_INFO = "pretrained.json"  # what marks a folder as an exported model


@dataclass(frozen=True, eq=False)
class Run:
    """A trained autoencoder with everything its folder says about it (hashed by identity, so
    that compiled functions of it can be cached per loaded run).

    Attributes:
      folder: the run's folder (None for a model made in memory, e.g. by a benchmark).
      model: the Flax module.
      params: its parameters in float32: `model.apply({"params": params}, ...)`.
      meta: the checkpoint's description: {"model": {...}, "spectral": {...},
        "corpus": path, "epoch": int, ...}.
    """

    folder: Path | None
    model: Autoencoder
    params: dict
    meta: dict

    @property
    def name(self) -> str:
        return self.folder.name if self.folder is not None else "model"

    @property
    def latent_dim(self) -> int:
        return self.meta["model"]["latent_dim"]

    @property
    def bottleneck(self) -> str:
        return self.meta["model"]["bottleneck"]

    @property
    def conditioning(self) -> str:
        """ "chroma" (the paper's) or "note" (training/conditioning.py); old runs: chroma."""
        return self.model.conditioning

    @property
    def note_range(self) -> tuple[int, int] | None:
        """(lowest, highest) MIDI note of a note-conditioned model's training split."""
        notes = self.meta.get("note_range")
        return (int(notes[0]), int(notes[1])) if notes else None

    @property
    def spectral(self) -> dict:
        """sample_rate, n_fft, hop_length, window and chroma_method of the training corpus."""
        return self.meta["spectral"]

    @property
    def corpus(self) -> Path:
        """The training corpus's folder (relative to the working directory if so recorded)."""
        return Path(self.meta["corpus"])

    def corpus_metadata(self, *, what: str) -> dict:
        """corpus.json of the training corpus, checked to match the model's spectral settings.

        Raises:
          ParameterError: the corpus is not there, or its settings differ (`what` says who asks).
        """
        corpus_meta = load_metadata(self.corpus)
        check_spectral(self.meta, corpus_meta, what=what)
        return corpus_meta

    def final(self) -> dict | None:
        """final.json (test MSEs, epochs, device) if the run trained to the end."""
        path = self.folder / "final.json" if self.folder is not None else None
        return json.loads(path.read_text()) if path is not None and path.is_file() else None

    def apply(self, *args, method: str | None = None):
        """`model.apply` with the run's parameters, jitted: `run.apply(z, chroma, method="decode")`.

        Compiled once per model and argument shapes, however many times a run is loaded.
        """
        return _apply(self.model, self.params, args, method=method)


@partial(jax.jit, static_argnames=("model", "method"))
def _apply(model: Autoencoder, params: dict, args: tuple, *, method: str | None):
    return model.apply({"params": params}, *args, method=method)


def load_run(folder: str | Path, which: str = BEST) -> Run:
    """The run in `folder`, with its best (or latest) parameters as float32.

    Raises:
      ParameterError: the folder has no such checkpoint.
    """
    if which not in (LATEST, BEST):
        raise ParameterError(f"checkpoint must be {LATEST!r} or {BEST!r}, got {which!r}")
    folder = Path(folder)
    if not (folder / "checkpoints" / which).is_dir():
        raise ParameterError(f"workdir {str(folder)!r} has no {which} checkpoint")
    checkpoints = Checkpoints(folder, which=(which,))
    restored = checkpoints.restore(which)
    checkpoints.close()
    if restored is None:
        raise ParameterError(f"workdir {str(folder)!r} has no {which} checkpoint")
    tree, meta = restored
    params = tree["params"] if which == LATEST else tree
    params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)  # float16 if exported
    return Run(folder, Autoencoder(**meta["model"]), params, meta)


def pretrained_names() -> list[str]:
    """Names of the models shipped in results/pretrained."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / PRETRAINED_INFO).is_file())


def run_folder(*, workdir: str | Path | None = None, model: str | None = None) -> Path:
    """The folder of `--workdir RUN` or of `--model NAME` (a shipped model), exactly one given."""
    if (workdir is None) == (model is None):
        raise ParameterError("give either a run folder (--workdir) or a shipped model (--model)")
    if model is None:
        return Path(workdir)
    if model not in pretrained_names():
        raise ParameterError(f"no pretrained model {model!r}; shipped: {pretrained_names()}")
    return PRETRAINED_DIR / model
