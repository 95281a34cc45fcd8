"""Data parallelism: a 1-D device mesh, its shardings, and multi-host start-up.

Parameters and the corpus are replicated on every device; each batch of frame indices is
sharded over the `data` axis, so XLA splits the batch and all-reduces the gradients. Arrays
are built with `jax.make_array_from_callback`, which works on one host or several.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from timbre_jax.errors import ParameterError

DATA_AXIS = "data"


def initialize(coordinator_address: str, num_processes: int, process_id: int) -> None:
    """Joins a multi-host run (call before any other JAX call); see launch/multiprocess.py."""
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )


def data_mesh() -> Mesh:
    """A mesh over every device of every process, with one axis: `data`."""
    return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
    if batch_size % mesh.size:
        raise ParameterError(
            f"train.batch_size={batch_size} must be a multiple of the {mesh.size} devices"
        )


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh) -> NamedSharding:
    """Shards the last axis of an index array [..., batch] over the `data` axis."""
    return NamedSharding(mesh, P(None, DATA_AXIS))


def global_array(host_array: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """Places an array that every process holds in full as a (sharded) global array."""
    return jax.make_array_from_callback(host_array.shape, sharding, lambda index: host_array[index])


def describe_devices() -> str:
    """E.g. "4 x cpu (cpu)" or "1 x NVIDIA H100 80GB HBM3 (gpu)"."""
    return f"{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()})"


def is_main_process() -> bool:
    """Only process 0 writes files."""
    return jax.process_index() == 0
