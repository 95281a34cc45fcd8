"""Configs for tests: the real config files, with fields overridden."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_config(file: str, arg: str | None = None, **overrides):
    spec = importlib.util.spec_from_file_location(file, ROOT / "configs" / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config(arg) if arg is not None else module.get_config()
    for dotted, value in overrides.items():
        node = config
        *parents, leaf = dotted.split("__")
        for name in parents:
            node = node[name]
        node[leaf] = value
    return config


def smoke(corpus, **overrides):
    """configs/default.py:smoke on `corpus`; keyword `a__b=v` sets field a.b."""
    return load_config("default.py", "smoke", corpus=str(corpus), **overrides)
