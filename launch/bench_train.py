"""Training throughput of the default model at batch 200, against the machine's matmul rate.

Measures, in one run on the default JAX device(s):
  - the fp32 matrix-multiply rate of `jnp.dot` on 2048 x 2048 matrices (FLOP/s);
  - frames per second of the jitted training step (default config: 2-neuron sigmoid,
    chroma augmentation and skip, batch 200) over a 17,000-frame corpus held on the device;
  - the model's achieved FLOP rate (3 x the forward pass's 2 x multiply-adds per frame, and
    with `--pitch-weight` those of the pitch term's decodes and template product) as a
    fraction of the matmul rate, and the time 300 epochs of the one-octave corpus would take.
    Like for like: each timed pass of steps is paired with `jnp.dot` calls run back to back
    for as long just before it (both sustained rates over the same span of a shared host's
    load); the fraction is the median of these pairs'. The fraction of the best single
    `jnp.dot` call (the peak) is printed beside it;
  - with `--loop-corpus`, what a user waits for: the training loop's own frames/s (the median
    over epochs 2..N of metrics.jsonl, with validation and checkpoints) on that corpus,
    against the step rate measured just before.

Usage: python launch/bench_train.py [--steps 50] [--frames 17000] [--repeats 5]
           [--pitch-weight 1e-4] [--loop-corpus data/corpora/one_octave --loop-epochs 6]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.model.autoencoder import HIDDEN_WIDTHS, N_BINS
from timbre_jax.training import distributed
from timbre_jax.training.config import load_config
from timbre_jax.training.loop import train_and_evaluate
from timbre_jax.training.pitch_loss import TEMPLATE_NOTES
from timbre_jax.training.throughput import SyntheticSteps

ROOT = Path(__file__).resolve().parents[1]


def default_config():
    return load_config(str(ROOT / "configs" / "default.py"))


def matmul_rate(n: int = 2048, repeats: int = 20) -> float:
    """Best fp32 FLOP/s of `jnp.dot` on n x n matrices."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    dot(a, a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        dot(a, a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def sustained_matmul_rate(seconds: float, n: int = 2048) -> float:
    """fp32 FLOP/s of `jnp.dot` on n x n matrices called back to back for `seconds`."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    dot(a, a).block_until_ready()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        dot(a, a).block_until_ready()
        calls += 1
    return 2 * n**3 * calls / elapsed


def decoder_macs(latent_dim: int = 2) -> int:
    widths = [latent_dim + 12, *reversed(HIDDEN_WIDTHS), N_BINS]
    return sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))


def training_flops_per_frame(latent_dim: int = 2, n_inputs: int = N_BINS + 12,
                             pitch_share: float = 0.0) -> float:  # fmt: skip
    """3 x (2 x multiply-adds) of the forward pass: forward + backward; with the pitch term,
    `pitch_share` (its decodes per training frame) x the decoder and the template product."""
    widths = [n_inputs, *HIDDEN_WIDTHS, latent_dim]
    encoder = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    pitch = pitch_share * (decoder_macs(latent_dim) + N_BINS * len(TEMPLATE_NOTES))
    return 3 * 2 * (encoder + decoder_macs(latent_dim) + pitch)


def loop_frames_per_second(config, corpus: str, epochs: int) -> float:
    """The training loop's median frames/s over epochs 2..`epochs` on `corpus` (a fresh run)."""
    config.unlock()
    config.corpus, config.train.epochs = corpus, epochs
    with tempfile.TemporaryDirectory() as workdir:
        train_and_evaluate(config, workdir)
        rows = [json.loads(line) for line in (Path(workdir) / "metrics.jsonl").open()]
    print("loop frames/s by epoch:", [round(r["frames_per_second"]) for r in rows])
    return float(np.median([r["frames_per_second"] for r in rows[1:]]))


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--frames", type=int, default=17_000)
    parser.add_argument("--repeats", type=int, default=5, help="timed passes; the median counts")
    parser.add_argument(
        "--pitch-weight",
        type=float,
        default=0.0,
        help="with the pitch term at this weight (training/pitch_loss.py)",
    )
    parser.add_argument("--loop-corpus", help="also time the training loop on this corpus")
    parser.add_argument("--loop-epochs", type=int, default=6)
    args = parser.parse_args(argv)
    config = default_config()
    config.unlock()
    config.train.pitch_weight = args.pitch_weight
    steps = SyntheticSteps(config, args.frames)
    n_steps = min(args.steps, steps.steps_per_epoch)
    pitch = steps.pitch
    pitch_share = 0.0 if pitch is None else pitch.batch / config.train.batch_size
    flops = training_flops_per_frame(pitch_share=pitch_share)
    # Each timed pass is paired with a sustained matmul rate measured for as long just before
    # it, so that a shared host's changing load moves both: the ratio is the median of the
    # pairs'. (The best single call is the peak; a pass of steps is not timed that way.)
    peaks, rates, frame_rates, seconds = [], [], [], 1.0
    for _ in range(args.repeats):
        peaks.append(matmul_rate(repeats=10))
        rates.append(sustained_matmul_rate(seconds))
        seconds = steps.run(n_steps)
        frame_rates.append(n_steps * config.train.batch_size / seconds)
    fps, rate, peak = (float(np.median(x)) for x in (frame_rates, rates, peaks))
    shares = np.array(frame_rates) * flops / np.array(rates)
    peak_shares = np.array(frame_rates) * flops / np.array(peaks)
    print(f"device: {distributed.describe_devices()}")
    print(f"jnp.dot fp32 rate:       {rate / 1e9:8.1f} GFLOP/s sustained, {peak / 1e9:.1f} "
          "at its best call (2048 x 2048, medians of passes)")  # fmt: skip
    print(
        f"training throughput:     {fps:8.0f} frames/s (batch {config.train.batch_size}, "
        f"median of {args.repeats} x {n_steps} steps"
        + (f", pitch term: {pitch.batch} decodes per step)" if pitch else ")")
    )
    print(f"model FLOP per frame:    {flops / 1e6:8.2f} MFLOP (forward + backward)")
    passes = " ".join(f"{x:.2f}" for x in shares)
    print(f"achieved model rate:     {fps * flops / 1e9:8.1f} GFLOP/s = "
          f"{np.median(shares):.2f} of dot (passes: {passes}); "
          f"{np.median(peak_shares):.2f} of its best call")  # fmt: skip
    print(f"300 epochs of 17k frames: {300 * 17_000 / fps / 60:7.1f} min")
    if args.loop_corpus:
        loop_fps = loop_frames_per_second(config, args.loop_corpus, args.loop_epochs)
        print(
            f"training loop:           {loop_fps:8.0f} frames/s on {args.loop_corpus} (median "
            f"of epochs 2-{args.loop_epochs}) = {loop_fps / fps:.2f} of the step rate"
        )


if __name__ == "__main__":
    sys.exit(main())
