"""Test helpers: the real config files with fields overridden, and CPU-pinned processes."""

import os

from configs import default


def cpu_devices(count: int) -> dict:
    """The environment of a process that sees exactly `count` CPU devices, whatever the host
    has: runs compared across processes are pinned to them so that their results match."""
    flags = f"--xla_force_host_platform_device_count={count}"
    return os.environ | {"JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags}


def smoke(corpus, **overrides):
    """configs/default.py:smoke on `corpus`; keyword `a__b=v` sets field a.b."""
    config = default.get_config("smoke")
    for dotted, value in {"corpus": str(corpus), **overrides}.items():
        node = config
        *parents, leaf = dotted.split("__")
        for name in parents:
            node = node[name]
        node[leaf] = value
    return config
