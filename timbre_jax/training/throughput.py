"""The training step timed on its own: the configured model's jitted step over random frames
held on the device, as a training epoch runs it, without a corpus, validation or checkpoints.

Used by `launch/bench_train.py` (against the machine's matmul rate) and by
`launch/reproduce.py --plan` (minutes a row will take on this machine).
"""

from __future__ import annotations

import time

import jax
import ml_collections
import numpy as np

from timbre_jax.corpus.store import previous_frame_index
from timbre_jax.model.autoencoder import N_BINS
from timbre_jax.training import distributed
from timbre_jax.training.data import DeviceSplit, epoch_batches
from timbre_jax.training.loop import build_model, init_state, make_train_step
from timbre_jax.training.pitch_loss import make_pitch_term

WARM_STEPS = 10  # compile, then warm the allocator and thread pool
SPECTRAL = {"sample_rate": 44100, "n_fft": 4096}  # the pitch term's templates


class SyntheticSteps:
    """The jitted training step of `config`'s model on `frames` uniform random frames.

    `run(n)` takes n steps (at most one epoch's) and returns their seconds; the first call
    compiles and warms up outside the timing. `pitch` is the pitch term (None when off).
    """

    def __init__(self, config: ml_collections.ConfigDict, frames: int = 17_000):
        mesh = distributed.data_mesh()
        rng = np.random.default_rng(0)
        spectra = rng.uniform(0, 1, (frames, N_BINS)).astype(np.float32)
        chroma = np.eye(12, dtype=np.float32)[rng.integers(0, 12, frames)]
        clip_ids = np.repeat(np.arange(frames // 200 + 1), 200)[:frames]
        previous = previous_frame_index(clip_ids, np.arange(frames, dtype=np.int32))
        sharding = distributed.replicated(mesh)
        self.data = DeviceSplit(
            *(distributed.global_array(a, sharding) for a in (spectra, chroma, previous))
        )
        model = build_model(config)
        self.state = init_state(model, config, mesh)
        self.pitch = make_pitch_term(config.train, SPECTRAL)
        self.step = make_train_step(model, config.train.l2_weight, self.pitch)
        self.batch_size = config.train.batch_size
        index, weight = epoch_batches(frames, self.batch_size, seed=0, epoch=1)
        self.index, self.weight = (
            distributed.global_array(a, distributed.batch_sharded(mesh)) for a in (index, weight)
        )
        self.key = jax.random.key(0)
        self.steps_per_epoch = len(index)
        self._take(WARM_STEPS)

    def _take(self, n_steps: int) -> None:
        metrics = None
        for step in range(n_steps):
            self.state, metrics = self.step(
                self.state, self.data, self.index, self.weight, step, 0.0, self.key
            )
        jax.block_until_ready((self.state, metrics))

    def run(self, n_steps: int) -> float:
        """Seconds of `n_steps` training steps (at most one epoch's)."""
        start = time.perf_counter()
        self._take(min(n_steps, self.steps_per_epoch))
        return time.perf_counter() - start

    def frames_per_second(self, seconds: float = 3.0) -> float:
        """Frames per second over passes of 10 steps for about `seconds` (the median pass)."""
        rates, start = [], time.perf_counter()
        while time.perf_counter() - start < seconds or not rates:
            rates.append(10 * self.batch_size / self.run(10))
        return float(np.median(rates))
