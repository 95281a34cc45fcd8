"""A trained run, loaded once and passed around: `Run`, `load_run`, and the shipped models.

A run folder (a workdir, or an exported model in results/pretrained) holds the model's
checkpoints and what it says about itself. `load_run` reads it once; the analysis, the synth
and the exporter take the `Run` instead of re-reading the folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.corpus.store import load_metadata
from timbre_jax.dsp.chroma import NOTE_NAMES, note_name
from timbre_jax.errors import ParameterError
from timbre_jax.model.autoencoder import Autoencoder
from timbre_jax.model.checkpoint import BEST, LATEST, Checkpoints, check_spectral
from timbre_jax.model.conditioning import fold_into_range

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "results" / "pretrained"  # the clone's
PRETRAINED_INFO = "pretrained.json"  # what marks a folder as an exported model
MODELS_ENV = "TIMBRE_JAX_MODELS"  # the user's models folder, when set
SHIPPED_ENV = "TIMBRE_JAX_PRETRAINED"  # the shipped models' folder, when set


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
        """ "chroma" (the paper's) or "note" (model/conditioning.py); old runs: chroma."""
        return self.model.conditioning

    @property
    def note_range(self) -> tuple[int, int] | None:
        """(lowest, highest) MIDI note of a note-conditioned model's training split."""
        notes = self.meta.get("note_range")
        return (int(notes[0]), int(notes[1])) if notes else None

    @property
    def start_latent(self) -> tuple[float, ...]:
        """Where the synth starts: for an exported model, the point of its mesh where the most
        trained notes decode right (`export.start_point`); else the centre of (0, 1)^d."""
        point = self.meta.get("start_latent")
        return tuple(float(v) for v in point) if point else (0.5,) * self.latent_dim

    @property
    def trained_notes(self) -> tuple[int, ...] | None:
        """Sorted MIDI notes of the training split's labelled frames (empty for an unlabelled
        corpus); None where the checkpoint does not say (older runs)."""
        notes = self.meta.get("trained_notes")
        return None if notes is None else tuple(int(n) for n in notes)

    @property
    def trained_classes(self) -> tuple[int, ...] | None:
        """Sorted pitch classes (0 = C) of the training split's one-hot chroma; None where the
        checkpoint does not say (older runs)."""
        classes = self.meta.get("trained_classes")
        return None if classes is None else tuple(int(c) for c in classes)

    def untrained(self, pitches) -> list[int]:
        """The keys among MIDI `pitches` the model was never trained on, in their order.

        A chroma model plays a key as its pitch class: it knows the key if `pitch % 12` is in
        `trained_classes`. A note model plays the key moved by octaves into `note_range`: it
        knows the key if that note is in `trained_notes`. A run that does not record what it
        was trained on (older checkpoints) knows every key.
        """
        pitches = [int(p) for p in np.ravel(pitches)]
        if self.conditioning == "note":
            notes = self.trained_notes
            if notes is None or self.note_range is None:
                return []
            played = fold_into_range(np.array(pitches, int), *self.note_range).tolist()
            return [p for p, f in zip(pitches, played, strict=True) if f not in notes]
        classes = self.trained_classes
        return [] if classes is None else [p for p in pitches if p % 12 not in classes]

    def plays(self, pitch: int) -> bool:
        """Whether the model was trained on what it plays for MIDI `pitch` (`untrained`)."""
        return not self.untrained([pitch])

    def trained_text(self) -> str:
        """What a model that records it was trained on, compactly: a chroma model's pitch
        classes ("C D E F G A B"); a note model's notes ("C3 G3 C4"), or past twelve notes
        their classes and range ("C D E F G A B in C2-C7")."""
        if self.conditioning != "note":
            return " ".join(NOTE_NAMES[c] for c in self.trained_classes)
        notes = self.trained_notes
        if len(notes) <= 12:
            return " ".join(note_name(n) for n in notes)
        classes = " ".join(NOTE_NAMES[c] for c in sorted({n % 12 for n in notes}))
        return f"{classes} in {note_name(notes[0])}-{note_name(notes[-1])}"

    def never_trained(self, pitch: int) -> str:
        """Why MIDI `pitch` is not played, e.g. "one_octave was never trained on C# (it was
        trained on C D E F G A B)": the pitch class for a chroma model, for a note model the
        note it would play (the key moved into its range)."""
        if self.conditioning == "note":
            key = note_name(int(fold_into_range(np.array(pitch), *self.note_range)))
        else:
            key = NOTE_NAMES[pitch % 12]
        return f"{self.name} was never trained on {key} (it was trained on {self.trained_text()})"

    def check_trained(self, pitches, *, what: str = "") -> None:
        """Refuses keys the model was never trained on (`untrained`).

        Args:
          pitches: MIDI pitches.
          what: how the user gave them (e.g. "--note C#4"), to start the message.

        Raises:
          ParameterError: naming the first untrained key and what the model was trained on.
        """
        untrained = self.untrained(pitches)
        if untrained:
            raise ParameterError((f"{what}: " if what else "") + self.never_trained(untrained[0]))

    def check_playable(self, pitches, *, what: str = "") -> None:
        """Refuses keys a note model's range does not hold (it would play them moved by
        octaves, as the synth does live) and keys it was never trained on (`check_trained`).

        Raises:
          ParameterError: naming the first such key and what the model plays.
        """
        if self.note_range is not None:
            low, high = self.note_range
            outside = [int(p) for p in np.ravel(pitches) if not low <= p <= high]
            if outside:
                raise ParameterError(
                    (f"{what}: " if what else "") + f"MIDI {outside[0]} is outside the notes "
                    f"{self.name} was trained on, {note_name(low)}-{note_name(high)} "
                    f"(MIDI {low}-{high})"
                )
        self.check_trained(pitches, what=what)

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


def user_models_dir() -> Path:
    """The folder of the user's exported models: $TIMBRE_JAX_MODELS, else
    $XDG_DATA_HOME/timbre_jax/models, else ~/.local/share/timbre_jax/models."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "timbre_jax" / "models"


def shipped_models_dir() -> Path:
    """The folder of the shipped models: $TIMBRE_JAX_PRETRAINED, else `results/pretrained` of
    the clone this package runs from (a copy of the repository, or an editable install). A
    package installed away from its clone (a wheel) finds them through the variable."""
    if os.environ.get(SHIPPED_ENV):
        return Path(os.environ[SHIPPED_ENV]).expanduser()
    return PRETRAINED_DIR


def model_folders() -> dict[str, Path]:
    """{name: folder} of every exported model `--model` can name: the shipped ones, then the
    user's, which take the name where both have it."""
    found = {}
    for root in (shipped_models_dir(), user_models_dir()):
        if root.is_dir():
            found |= {p.name: p for p in sorted(root.iterdir()) if (p / PRETRAINED_INFO).is_file()}
    return found


def pretrained_names() -> list[str]:
    """Names of the models `--model` can name (shipped and the user's)."""
    return sorted(model_folders())


def is_shipped(folder: str | Path) -> bool:
    """Whether a folder is one of the shipped models (`shipped_models_dir`)."""
    return Path(folder).resolve().parent == shipped_models_dir().resolve()


def run_folder(*, workdir: str | Path | None = None, model: str | None = None) -> Path:
    """The folder of `--workdir RUN` or of `--model NAME` (the user's model of that name, else the
    shipped one), exactly one given."""
    if (workdir is None) == (model is None):
        raise ParameterError("give either a run folder (--workdir) or a model (--model)")
    if model is None:
        return Path(workdir)
    folders = model_folders()
    if model not in folders:
        shipped = shipped_models_dir()
        where = ("" if shipped.is_dir() else f"; no shipped models at {shipped} (installed away "
                 f"from a clone? set ${SHIPPED_ENV} to a clone's results/pretrained)")  # fmt: skip
        raise ParameterError(
            f"no pretrained model {model!r}; there are {sorted(folders)} (shipped, and yours in "
            f"{user_models_dir()}){where}"
        )
    return folders[model]


def describe_model(folder: Path) -> str:
    """E.g. "model violin: shipped (results/pretrained/violin)", for the line a command prints."""
    kind = "shipped" if is_shipped(folder) else "yours"
    return f"model {folder.name}: {kind} ({folder})"
