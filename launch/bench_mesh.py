"""Mesh-sweep throughput: decodes per second against the jnp.dot rate.

Times the jitted classifier of `timbre_jax.analysis.mesh_sweep` (decode chunks of latent
points with a conditioning vector, take each frame's chroma class and estimated note) for a
freshly initialised default model (speed does not depend on the weights), measures the fp32
`jnp.dot` rate in the same run, and prints the achieved FLOP rate as a fraction of it and the
projected time of the paper's 2-D table (350 x 350 points x 12 classes; a note model's default
table decodes as many). `--chunk` takes several sizes to compare them in one run.

Usage: python launch/bench_mesh.py [--chunk 1024 8192] [--repeats 5]
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np
from bench_train import matmul_rate  # noqa: E402  (a sibling script)

from timbre_jax.analysis.mesh_sweep import default_chunk, make_classifier
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.dsp import chroma
from timbre_jax.dsp.note_estimate import note_templates
from timbre_jax.model.autoencoder import HIDDEN_WIDTHS, N_BINS, Autoencoder
from timbre_jax.model.run import Run
from timbre_jax.training.distributed import describe_devices


def decode_flops(latent_dim: int = 2) -> float:
    """2 x multiply-adds of the decoder, the chroma and the note-template products, per point."""
    widths = [latent_dim + 12, *reversed(HIDDEN_WIDTHS), N_BINS]
    layers = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return 2 * (layers + N_BINS * (12 + 88))


def decode_rate(classify, chunk: int, repeats: int) -> float:
    """Median decodes per second over `repeats` passes of the 12 classes on one chunk."""
    z = jax.numpy.asarray(np.random.default_rng(0).uniform(0, 1, (chunk, 2)), np.float32)
    vectors = np.eye(12, dtype=np.float32)
    jax.block_until_ready([classify(z, v) for v in vectors[:3]])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for vector in vectors:  # as the sweep does: one call, waited for, per class
            jax.block_until_ready(classify(z, vector))
        times.append(time.perf_counter() - start)
    return 12 * chunk / float(np.median(times))


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, nargs="+", default=[default_chunk()])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    model = Autoencoder()
    zeros = np.zeros((1, N_BINS), np.float32)
    params = model.init(jax.random.key(0), zeros, np.zeros((1, 12), np.float32), zeros)["params"]
    bank = chroma.filterbank("pitch_filterbank", sample_rate=44100, n_fft=4096)
    templates = note_templates(sample_rate=44100, n_fft=4096)
    classify = make_classifier(Run(None, model, params, {}), bank, templates)
    print(f"device: {describe_devices()}")
    dot = matmul_rate()
    print(f"jnp.dot fp32 rate:    {dot / 1e9:8.1f} GFLOP/s (2048 x 2048)")
    for chunk in args.chunk:
        rate = decode_rate(classify, chunk, args.repeats)
        achieved = rate * decode_flops()
        print(f"chunks of {chunk:5d}: {rate:8.0f} decodes/s, {achieved / 1e9:6.1f} GFLOP/s = "
              f"{achieved / dot:.2f} of jnp.dot; 2-D table (1.47M decodes) "
              f"{350 * 350 * 12 / rate:.1f} s")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
