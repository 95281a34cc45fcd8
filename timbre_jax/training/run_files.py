"""The files of a run's workdir besides checkpoints: config.json, metrics.jsonl, final.json.

Only process 0 writes (see `distributed.is_main_process`); callers decide.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from timbre_jax.errors import ParameterError

EPOCHS = "train.epochs"  # the one field a run may change: it can train further


def flatten(tree: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def claim(workdir: str | Path, config: dict) -> str:
    """Writes config.json into a new workdir, or checks that an existing one has the same, or
    one that asks only for more epochs: that run trains further (`extend` it once its data
    has loaded).

    Returns:
      "new" (see `release`), "same" or "further".

    Raises:
      ParameterError: the workdir is a file, was made by a different config (names the
        fields), or the config asks for fewer epochs than the run has.
    """
    workdir = Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise ParameterError(f"--workdir {str(workdir)!r} is a file: give a folder for the run")
    path = workdir / "config.json"
    if path.is_file():
        saved = flatten(json.loads(path.read_text()))
        given = flatten(json.loads(json.dumps(config)))
        differ = sorted(k for k in saved.keys() | given.keys() if saved.get(k) != given.get(k))
        if differ == [EPOCHS] and given[EPOCHS] > saved[EPOCHS]:
            return "further"
        if differ:
            detail = ", ".join(f"{k}: {saved.get(k)!r} -> {given.get(k)!r}" for k in differ)
            raise ParameterError(
                f"workdir {str(workdir)!r} holds a run of another config ({detail}); "
                "use a new --workdir or the saved config (only more train.epochs train it further)"
            )
        return "same"
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=1, sort_keys=True))
    except OSError as err:
        raise ParameterError(f"cannot write --workdir {str(workdir)!r}: {err.strerror}") from err
    return "new"


def extend(workdir: str | Path, config: dict) -> None:
    """Trains a finished run further: config.json takes the new epoch count and final.json
    goes until the run ends again."""
    workdir = Path(workdir)
    (workdir / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    (workdir / "final.json").unlink(missing_ok=True)


def release(workdir: str | Path) -> None:
    """Undoes `claim` of a new workdir whose run failed to start: removes config.json, and the
    folder if nothing else is in it, so that the corrected command is not refused."""
    workdir = Path(workdir)
    (workdir / "config.json").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        workdir.rmdir()


def read_metrics(workdir: str | Path, *, up_to_epoch: int | None = None) -> list[dict]:
    """The epochs of metrics.jsonl, those after `up_to_epoch` left out."""
    path = Path(workdir) / "metrics.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if up_to_epoch is None or r["epoch"] <= up_to_epoch]


def write_metrics(workdir: str | Path, rows: list[dict]) -> None:
    """Rewrites metrics.jsonl (used on resume to drop epochs after the checkpoint)."""
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (Path(workdir) / "metrics.jsonl").write_text(text)


def append_metrics(workdir: str | Path, row: dict) -> None:
    with open(Path(workdir) / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


def write_json(workdir: str | Path, name: str, content: dict) -> None:
    (Path(workdir) / name).write_text(json.dumps(content, indent=1))
