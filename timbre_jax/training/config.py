"""Config files and their fields: load `path.py[:ARG]`, apply `--config.FIELD=VALUE`, check.

A config file defines `get_config(arg=None)` returning a locked `ml_collections.ConfigDict`
(see configs/default.py). Every mistake (a missing file, an unknown argument or field, a
value of the wrong type or range) is a `ParameterError` that names it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import ml_collections
import numpy as np

from timbre_jax.errors import ParameterError
from timbre_jax.model.autoencoder import validate_model_fields
from timbre_jax.training.run_files import flatten

FIELDS = {
    "corpus", "seed", "model.kind", "model.latent_dim", "model.bottleneck", "model.chroma_skip",
    "model.augment", "model.conditioning", "model.condition_every_layer", "model.beta",
    "model.beta_warmup_epochs", "train.epochs", "train.batch_size", "train.learning_rate",
    "train.l2_weight", "train.eval_batch_size", "train.pitch_weight", "train.pitch_batch",
    "train.pitch_temperature", "train.pitch_octaves_only",
}  # fmt: skip
_SPEC = re.compile(r"(?P<path>.+?\.py)(?::(?P<arg>.*))?")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def config_module(path: str | Path) -> ModuleType:
    """Imports a config file. One inside a package folder (such as configs/) is imported as
    `package.module`, so that its `from configs import default` works from any directory."""
    path = Path(path)
    if path.suffix != ".py" or not path.is_file():
        raise ParameterError(f"config file {str(path)!r} not found (a .py file is expected)")
    path = path.resolve()
    if not (path.parent / "__init__.py").is_file():
        spec = importlib.util.spec_from_file_location(f"_config_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    if str(path.parents[1]) not in sys.path:
        sys.path.insert(0, str(path.parents[1]))
    module = importlib.import_module(f"{path.parent.name}.{path.stem}")
    if Path(module.__file__).resolve() != path:
        raise ParameterError(
            f"cannot import {str(path)!r}: a package {path.parent.name!r} is already imported "
            f"from {str(Path(module.__file__).parent)!r}"
        )
    return module


def check_row(config_file: str, row: str | None, rows) -> str:
    """`row` if it is one of `rows`, else a ParameterError that lists them."""
    if row not in rows:
        given = "no row" if row is None else f"unknown row {row!r}"
        raise ParameterError(
            f"{config_file} takes a row ({config_file}:ROW): {given}; rows: " + ", ".join(rows)
        )
    return row


def load_config(spec: str) -> ml_collections.ConfigDict:
    """The config of `path.py` or `path.py:ARG` (e.g. configs/paper.py:table2_sigmoid_skip)."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise ParameterError(f"--config must be a file.py or file.py:ARG, got {spec!r}")
    module = config_module(match["path"])
    if not hasattr(module, "get_config"):
        raise ParameterError(f"config file {match['path']!r} defines no get_config()")
    return module.get_config(match["arg"]) if match["arg"] is not None else module.get_config()


def parse_value(field: str, text: str, current):
    """Command-line text as a value of the type of the field's `current` value."""
    kind = {bool: "true or false", int: "an integer", float: "a number", str: "text"}.get(
        type(current)
    )
    try:
        if isinstance(current, bool):
            return _BOOLEANS[text.strip().lower()]
        if isinstance(current, int | float):
            return type(current)(text)
        if isinstance(current, str):
            return text
    except (KeyError, ValueError):
        pass
    raise ParameterError(f"config field {field!r} takes {kind or type(current).__name__}, "
                         f"got {text!r}")  # fmt: skip


def override(config: ml_collections.ConfigDict, field: str, text: str) -> None:
    """Sets `field` (dotted, e.g. train.epochs) from command-line text.

    Raises:
      ParameterError: no such field (naming the closest one), or text of the wrong type.
    """
    fields = flatten(config.to_dict())
    if field not in fields:
        close = difflib.get_close_matches(field, fields, n=1, cutoff=0.8)
        hint = f"did you mean {close[0]!r}?" if close else f"fields: {', '.join(sorted(fields))}"
        raise ParameterError(f"unknown config field {field!r}; {hint}")
    *parents, leaf = field.split(".")
    node = config
    for name in parents:
        node = node[name]
    node[leaf] = parse_value(field, text, fields[field])


def apply_overrides(config: ml_collections.ConfigDict, args: list[str]) -> None:
    """Applies `--config.FIELD=VALUE` (or `--config.FIELD VALUE`) arguments in order."""
    args = list(args)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--config."):
            raise ParameterError(f"unrecognised argument {arg!r}")
        field, equals, text = arg.removeprefix("--config.").partition("=")
        if not equals:
            if not args:
                raise ParameterError(f"{arg} needs a value: {arg}=VALUE")
            text = args.pop(0)
        override(config, field, text)


def validate_config(config: ml_collections.ConfigDict) -> dict:
    """Checks every field before anything is trained or written; returns the config as a dict."""
    flat = flatten(config.to_dict())
    unknown, missing = sorted(flat.keys() - FIELDS), sorted(FIELDS - flat.keys())
    if unknown or missing:
        raise ParameterError(f"config fields unknown: {unknown}, missing: {missing}")
    m, t = config.model, config.train
    validate_model_fields(kind=m.kind, latent_dim=m.latent_dim, bottleneck=m.bottleneck,
                          augment=m.augment, conditioning=m.conditioning)  # fmt: skip
    for name, value in (("train.epochs", t.epochs), ("train.batch_size", t.batch_size),
                        ("train.eval_batch_size", t.eval_batch_size)):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    for name, value in (("train.learning_rate", t.learning_rate), ("model.beta", m.beta),
                        ("train.l2_weight", t.l2_weight),
                        ("model.beta_warmup_epochs", m.beta_warmup_epochs)):  # fmt: skip
        if not isinstance(value, int | float) or value < 0 or not np.isfinite(value):
            raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    if t.learning_rate == 0:
        raise ParameterError("train.learning_rate must be > 0")
    for name in ("chroma_skip", "condition_every_layer"):
        if not isinstance(m[name], bool):
            raise ParameterError(f"model.{name} must be true or false, got {m[name]!r}")
    if m.condition_every_layer and not m.chroma_skip:
        raise ParameterError("model.condition_every_layer needs model.chroma_skip = true")
    validate_pitch_fields(t, bottleneck=m.bottleneck, conditioning=m.conditioning)
    return config.to_dict()


def validate_pitch_fields(t, *, bottleneck: str, conditioning: str) -> None:
    """The pitch term's fields (training/pitch_loss.py)."""
    if not isinstance(t.pitch_weight, int | float) or not 0 <= t.pitch_weight < np.inf:
        raise ParameterError(f"train.pitch_weight must be a finite number >= 0, got "
                             f"{t.pitch_weight!r}")  # fmt: skip
    if not isinstance(t.pitch_batch, int) or t.pitch_batch < 1:
        raise ParameterError(f"train.pitch_batch must be a positive integer, got "
                             f"{t.pitch_batch!r}")  # fmt: skip
    if not isinstance(t.pitch_temperature, int | float) or not 0 < t.pitch_temperature < np.inf:
        raise ParameterError(f"train.pitch_temperature must be a number > 0, got "
                             f"{t.pitch_temperature!r}")  # fmt: skip
    if not isinstance(t.pitch_octaves_only, bool):
        raise ParameterError(f"train.pitch_octaves_only must be true or false, got "
                             f"{t.pitch_octaves_only!r}")  # fmt: skip
    if t.pitch_octaves_only and conditioning != "note":
        raise ParameterError("train.pitch_octaves_only needs model.conditioning = 'note' (a "
                             "chroma model's every octave is acceptable)")  # fmt: skip
    if t.pitch_weight > 0 and bottleneck != "sigmoid":
        raise ParameterError("train.pitch_weight > 0 needs model.bottleneck = 'sigmoid' (the pad "
                             "is its span (0, 1)^d)")  # fmt: skip
