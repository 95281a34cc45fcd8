"""Orbax checkpoints of a run, behind `Checkpoints.save` and `Checkpoints.restore`.

A workdir keeps two: `checkpoints/latest` (the whole train state, to resume) and
`checkpoints/best` (the parameters with the lowest validation MSE). Each carries a JSON
`meta` item that describes the model and the corpus's spectral settings, so that a decoder
can be loaded from the workdir alone (`model.run.load_run`) and refused where it does not fit.
"""

from __future__ import annotations

from pathlib import Path

import orbax.checkpoint as ocp

from timbre_jax.errors import ParameterError

LATEST, BEST = "latest", "best"
SPECTRAL_KEYS = ("sample_rate", "n_fft", "hop_length", "window", "chroma_method")


def manager_options(name: str, which: tuple[str, ...]) -> ocp.CheckpointManagerOptions:
    """Keep one checkpoint; with several processes, the manager's barriers carry its name:
    the best and latest saves of one epoch share a step number, and with the same barrier
    names the two concurrent saves collided ("Barrier _async_write_complete.2 is already
    ongoing", then a timeout: 3 of 8 two-process runs of launch/multiprocess.py)."""
    return ocp.CheckpointManagerOptions(
        max_to_keep=1, create=which == (LATEST, BEST),
        multiprocessing_options=ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=name),
    )  # fmt: skip


class Checkpoints:
    """The latest and best checkpoints of one workdir."""

    def __init__(self, workdir: str | Path, which: tuple[str, ...] = (LATEST, BEST)):
        """Opens the `which` checkpoints (both to train; one to read, creating nothing)."""
        root = Path(workdir).absolute() / "checkpoints"
        self._managers = {w: ocp.CheckpointManager(root / w, options=manager_options(w, which))
                          for w in which}  # fmt: skip

    def save(self, which: str, step: int, tree, meta: dict) -> None:
        """Saves a pytree (the train state, or parameters) with its JSON description."""
        self._managers[which].save(
            step,
            args=ocp.args.Composite(tree=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(meta)),
        )

    def restore(self, which: str, target=None):
        """(tree, meta) of the newest checkpoint, shaped and sharded like `target`; None if none."""
        manager = self._managers[which]
        step = manager.latest_step()
        if step is None:
            return None
        restored = manager.restore(
            step,
            args=ocp.args.Composite(
                tree=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()
            ),
        )
        return restored["tree"], restored["meta"]

    def wait(self) -> None:
        """Blocks until asynchronous saves are on disk."""
        for manager in self._managers.values():
            manager.wait_until_finished()

    def close(self) -> None:
        for manager in self._managers.values():
            manager.close()


def latest_epoch(workdir: str | Path) -> int | None:
    """The epoch of a workdir's latest finished checkpoint (what a resume starts after), or
    None if it has none."""
    folder = Path(workdir).absolute() / "checkpoints" / LATEST
    if not folder.is_dir():
        return None
    return ocp.CheckpointManager(folder, options=manager_options(LATEST, (LATEST,))).latest_step()


def check_spectral(meta: dict, corpus_meta: dict, *, what: str) -> None:
    """Raises `ParameterError` if a model's spectral settings differ from a corpus's."""
    for key in SPECTRAL_KEYS:
        if meta["spectral"][key] != corpus_meta[key]:
            raise ParameterError(
                f"{what}: the model was trained with {key}={meta['spectral'][key]!r} but the "
                f"corpus has {key}={corpus_meta[key]!r}"
            )
