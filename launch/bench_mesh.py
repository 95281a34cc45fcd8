"""Mesh-sweep throughput: decoder + chroma decodes per second against the jnp.dot rate.

Times the jitted, vmapped classifier of `timbre_jax.analysis.mesh_sweep` (decode a latent
point with a conditioning note, take the chroma class of the frame) on chunks of latent points for a
freshly initialised default model (speed does not depend on the weights), measures the fp32
`jnp.dot` rate in the same run, and prints the achieved FLOP rate as a fraction of it and the
projected time of the paper's 2-D table (350 x 350 points x 12 notes).

Usage: python launch/bench_mesh.py [--chunk 8192] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
from bench_train import matmul_rate  # noqa: E402  (a sibling script)

from timbre_jax.analysis.mesh_sweep import make_classifier
from timbre_jax.dsp import chroma
from timbre_jax.training.distributed import describe_devices
from timbre_jax.training.models import HIDDEN_WIDTHS, N_BINS, Autoencoder
from timbre_jax.training.run import Run


def decode_flops(latent_dim: int = 2) -> float:
    """2 x multiply-adds of the decoder and the chroma product, per point."""
    widths = [latent_dim + 12, *reversed(HIDDEN_WIDTHS), N_BINS]
    return 2 * (sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True)) + N_BINS * 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = Autoencoder()
    zeros = np.zeros((1, N_BINS), np.float32)
    params = model.init(jax.random.key(0), zeros, np.zeros((1, 12), np.float32), zeros)["params"]
    bank = chroma.filterbank("pitch_filterbank", sample_rate=44100, n_fft=4096)
    classify = make_classifier(Run(None, model, params, {}), bank)
    z = jax.numpy.asarray(np.random.default_rng(0).uniform(0, 1, (args.chunk, 2)), np.float32)
    for note in range(3):
        classify(z, note).block_until_ready()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for note in range(12):
            out = classify(z, note)
        out.block_until_ready()
        times.append(time.perf_counter() - start)
    rate_points = 12 * args.chunk / float(np.median(times))
    dot = matmul_rate()
    achieved = rate_points * decode_flops()
    print(f"device: {describe_devices()}")
    print(f"jnp.dot fp32 rate:    {dot / 1e9:8.1f} GFLOP/s (2048 x 2048)")
    print(f"decodes per second:   {rate_points:8.0f} (chunks of {args.chunk}, decoder + chroma)")
    print(f"achieved rate:        {achieved / 1e9:8.1f} GFLOP/s = {achieved / dot:.2f} of jnp.dot")
    print(f"2-D table (350 x 350 x 12 = 1.47M decodes): {350 * 350 * 12 / rate_points:.1f} s")


if __name__ == "__main__":
    main()
