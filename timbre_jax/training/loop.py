"""The training loop: loss, Adam + coupled L2, the jitted step, `train_and_evaluate`.

Loss = MSE(reconstruction, frame) + l2_weight * sum(kernel**2) [+ beta * KL for the VAE]
[+ pitch_weight * the template cross-entropy of decodes at random pad points, beyond the
paper: training/pitch_loss.py], minimised by Adam: coupled L2, as in the paper's Keras models.
A run resumes from its workdir's latest checkpoint when it is started again with the same config.
Checkpoints are written after the first epoch, then after the first epoch to end at least
`CHECKPOINT_SECONDS` after the last save, and after the last epoch (the best parameters wait
in device memory until then): a killed run loses at most that much work, and since every
epoch is a function of the seed and the epoch number, resuming reproduces the uninterrupted
run exactly.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training.train_state import TrainState
from jax.experimental import multihost_utils

from timbre_jax.corpus.store import load_metadata, load_split
from timbre_jax.errors import ParameterError
from timbre_jax.model.autoencoder import N_BINS, Autoencoder
from timbre_jax.model.checkpoint import BEST, LATEST, SPECTRAL_KEYS, Checkpoints, check_spectral
from timbre_jax.model.conditioning import condition_size
from timbre_jax.progress import print_line, progress_bar
from timbre_jax.training import distributed, run_files
from timbre_jax.training.config import validate_config
from timbre_jax.training.data import epoch_batches, gather, load_device_split, weighted_mean
from timbre_jax.training.learning_curve import plot_learning_curve
from timbre_jax.training.pitch_loss import (
    PitchTerm,
    acceptable_notes,
    class_notes,
    make_pitch_term,
    sample_pad,
    template_cross_entropy,
)

ACTIVE_KL = 0.01  # nats: a VAE latent dimension whose mean KL exceeds this is active
ADAM_EPSILON = 1e-7  # Keras's Adam epsilon
CHECKPOINT_SECONDS = 60.0  # least time between checkpoint saves (they write while training)


def agreed(flag: bool) -> bool:
    """Process 0's `flag` on every process: a checkpoint save is collective, so a decision
    taken on each process's own clock could send one process into a save the others skip
    (a deadlock, seen with two processes)."""
    if jax.process_count() == 1:
        return flag
    return bool(multihost_utils.broadcast_one_to_all(np.asarray(flag)))


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def build_model(config) -> Autoencoder:
    m = config.model
    return Autoencoder(m.latent_dim, m.bottleneck, m.chroma_skip, m.augment, m.kind, N_BINS,
                       conditioning=m.conditioning,
                       condition_every_layer=m.condition_every_layer)  # fmt: skip


def l2_penalty(params) -> jax.Array:
    """Sum of squared kernel weights (biases excluded)."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    return sum(jnp.sum(jnp.square(w)) for path, w in leaves if path[-1].key == "kernel")


def make_train_step(model: Autoencoder, l2_weight: float, pitch: PitchTerm | None = None):
    """Jitted (state, data, index [steps, B], weight, step, beta, key) -> (state, metrics);
    with a `pitch` term, its cross-entropy times pitch.weight is added to the loss and
    reported as "pitch_ce". The state passed in is donated: its arrays are reused for the
    new state, so keep a copy (`jnp.copy`) of anything needed after the step."""

    def reconstruct(params, frames, chroma, diff, key, conditions):
        """(reconstruction, kl, pitch cross-entropy or None): with the pitch term, its pad
        points are decoded in the same decoder pass as the batch's latents (one matrix product
        per layer on batch + pitch.batch rows, not two)."""
        variables, rngs = {"params": params}, {"sample": key}
        if pitch is None:
            recon, _, kl = model.apply(variables, frames, chroma, diff, rngs=rngs)
            return recon, kl, None
        z, kl = model.apply(variables, frames, chroma, diff, rngs=rngs, method="latent")
        z_pad, condition = sample_pad(jax.random.fold_in(key, 1), conditions,
                                      batch=pitch.batch, latent_dim=model.latent_dim)  # fmt: skip
        decoded = model.apply(variables, jnp.concatenate([z, z_pad]),
                              jnp.concatenate([chroma, condition]), method="decode")  # fmt: skip
        recon, pad_frames = decoded[: len(frames)], decoded[len(frames) :]
        rivals = class_notes(condition) if pitch.octaves_only else None
        cross_entropy = template_cross_entropy(pad_frames, acceptable_notes(condition),
                                               templates=pitch.templates,
                                               temperature=pitch.temperature,
                                               rivals=rivals)  # fmt: skip
        return recon, kl, cross_entropy

    def train_step(state, data, index, weight, step, beta, key):
        batch_index, batch_weight = index[step], weight[step]
        frames, chroma, diff = gather(data, batch_index)

        def loss_fn(params):
            recon, kl, cross_entropy = reconstruct(params, frames, chroma, diff, key, data.chroma)
            mse = weighted_mean(jnp.mean(jnp.square(recon - frames), axis=-1), batch_weight)
            kl_per_dim = weighted_mean(kl, batch_weight)
            loss = mse + l2_weight * l2_penalty(params) + beta * jnp.sum(kl_per_dim)
            metrics = {"mse": mse, "kl_per_dim": kl_per_dim}
            if cross_entropy is not None:
                metrics["pitch_ce"] = cross_entropy
                loss = loss + pitch.weight * cross_entropy
            return loss, metrics | {"loss": loss}

        grads, metrics = jax.grad(loss_fn, has_aux=True)(state.params)
        return state.apply_gradients(grads=grads), metrics

    # The state is donated: its parameters and Adam moments (67 MB for the default model) are
    # updated in place instead of written to fresh buffers every step. On CPU, XLA's default
    # copy insertion then copied every kernel before its update; with region analysis it
    # does not (measurements in the commit that made this so).
    cpu = jax.default_backend() == "cpu"
    options = {"xla_cpu_copy_insertion_use_region_analysis": True} if cpu else None
    return jax.jit(train_step, donate_argnums=0, compiler_options=options)


def make_evaluate(model: Autoencoder, mesh, batch_size: int):
    """evaluate(params, data) -> MSE over a whole split, in fixed-size sharded batches."""

    @jax.jit
    def squared_error_sum(params, data, index, weight):
        frames, chroma, diff = gather(data, index)
        recon, _, _ = model.apply({"params": params}, frames, chroma, diff)
        return jnp.sum(weight * jnp.mean(jnp.square(recon - frames), axis=-1))

    def evaluate(params, data) -> float:
        index, weight = epoch_batches(len(data.frames), batch_size, seed=0, epoch=0, shuffle=False)
        sharding = distributed.batch_sharded(mesh)
        index, weight = (distributed.global_array(a, sharding) for a in (index, weight))
        sums = [squared_error_sum(params, data, index[i], weight[i]) for i in range(len(index))]
        return float(np.sum(jax.device_get(sums)) / len(data.frames))

    return evaluate


def corpus_settings(config) -> dict:
    """corpus.json of the configured corpus, checked against the models' frame size."""
    corpus_meta = load_metadata(config.corpus)
    if corpus_meta["n_fft"] // 2 + 1 != N_BINS:
        raise ParameterError(
            f"corpus {config.corpus!r} has n_fft={corpus_meta['n_fft']}; the models need "
            f"{2 * (N_BINS - 1)}-point frames"
        )
    return corpus_meta


def trained_notes(config) -> dict:
    """What the training split sounds, for the checkpoint: {"trained_notes": sorted MIDI
    notes of its labelled frames, "trained_classes": sorted pitch classes of those notes, or
    of the one-hot chroma where no frame has a note} and, for a note-conditioned model,
    {"note_range": [low, high]}. Says how many frames without a note a note model leaves out."""
    split = load_split(config.corpus, "train")
    pitch = np.asarray(split.pitch)
    labelled = pitch[pitch >= 0]
    # classes from the notes where frames have them (the one-hot chroma misses some frames)
    classes = np.unique(labelled % 12 if len(labelled) else np.argmax(split.chroma, axis=-1))
    notes = {"trained_notes": np.unique(labelled).tolist(), "trained_classes": classes.tolist()}
    if config.model.conditioning != "note":
        return notes
    if distributed.is_main_process() and (pitch < 0).any():
        print_line(f"note conditioning: {(pitch < 0).sum()} of {len(pitch)} training frames "
                   "have no note and are left out")  # fmt: skip
    if len(labelled):
        notes["note_range"] = [int(labelled.min()), int(labelled.max())]
    return notes


def checkpoint_meta(config, corpus_meta: dict) -> dict:
    """What a checkpoint says about itself: model fields and the corpus's spectral settings."""
    model = {k: v for k, v in config.model.to_dict().items() if not k.startswith("beta")}
    return {
        "model": model | {"n_bins": N_BINS},
        "spectral": {k: corpus_meta[k] for k in SPECTRAL_KEYS},
        "corpus": str(config.corpus),
    }


def init_state(model: Autoencoder, config, mesh) -> TrainState:
    """Fresh parameters (from the config's seed) and Adam state, replicated over the mesh."""
    size = condition_size(model.conditioning)
    example = [jnp.zeros((1, N_BINS)), jnp.zeros((1, size)), jnp.zeros((1, N_BINS))]
    key = jax.random.fold_in(jax.random.key(config.seed), 0)
    params = jax.tree.map(np.asarray, jax.jit(model.init)(key, *example)["params"])
    tx = optax.adam(config.train.learning_rate, eps=ADAM_EPSILON)
    state = TrainState.create(apply_fn=model.apply, params=params, tx=tx)
    # Every array on the mesh, the step an int32 array: as the jitted step returns them, so
    # that the step compiles once.
    state = state.replace(step=np.zeros((), np.int32))
    sharding = distributed.replicated(mesh)
    return jax.tree.map(lambda a: distributed.global_array(np.asarray(a), sharding), state)


def warmup_scale(epoch: int, step: int, n_steps: int, warmup_epochs: int) -> float:
    """A weight's share during its warm-up: rises linearly from 0 over `warmup_epochs`."""
    return min(1.0, (epoch - 1 + step / n_steps) / warmup_epochs) if warmup_epochs else 1.0


def run_epoch(train_step, state, data, config, epoch: int, mesh, *, show: bool):
    """One pass over the training split; returns the new state and the epoch's metrics."""
    n_frames = len(data.frames)
    index, weight = epoch_batches(n_frames, config.train.batch_size, seed=config.seed, epoch=epoch)
    n_steps = len(index)
    index, weight = (
        distributed.global_array(a, distributed.batch_sharded(mesh)) for a in (index, weight)
    )
    sample_key = jax.random.fold_in(jax.random.key(config.seed), 1)
    step_metrics = []
    for step in progress_bar(range(n_steps), desc=f"epoch {epoch}", leave=False, show=show):
        beta = config.model.beta * warmup_scale(epoch, step, n_steps,
                                                config.model.beta_warmup_epochs)  # fmt: skip
        key = jax.random.fold_in(sample_key, (epoch - 1) * n_steps + step)
        state, metrics = train_step(state, data, index, weight, step, beta, key)
        step_metrics.append(metrics)
    step_metrics = jax.device_get(step_metrics)
    losses = np.array([m["loss"] for m in step_metrics])
    if not np.all(np.isfinite(losses)):
        bad = int(np.argmin(np.isfinite(losses)))
        raise TrainingDiverged(
            f"non-finite training loss {losses[bad]} at epoch {epoch}, step {bad}"
        )
    row = {
        "epoch": epoch,
        "train_loss": float(losses.mean()),
        "train_mse": float(np.mean([m["mse"] for m in step_metrics])),
    }
    if "pitch_ce" in step_metrics[0]:
        row["train_pitch_ce"] = float(np.mean([m["pitch_ce"] for m in step_metrics]))
    if config.model.kind == "vae":
        kl = np.mean([m["kl_per_dim"] for m in step_metrics], axis=0)
        row |= {"kl_per_dim": kl.tolist(), "active_dims": int(np.sum(kl > ACTIVE_KL))}
    return state, row


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict:
    """Trains the configured model on its corpus, writing everything into `workdir`.

    Returns:
      The contents of final.json: test MSE of the final and best-validation parameters,
      validation MSEs, training seconds, device and frames per second.
    """
    resolved = validate_config(config)
    corpus_meta = corpus_settings(config)
    mesh = distributed.data_mesh()
    distributed.check_batch_size(config.train.batch_size, mesh)
    distributed.check_batch_size(config.train.eval_batch_size, mesh)
    main_process = distributed.is_main_process()
    claimed = run_files.claim(workdir, resolved) if main_process else "same"
    meta = checkpoint_meta(config, corpus_meta)
    model = build_model(config)
    try:
        train, val = (load_device_split(config.corpus, s, mesh, conditioning=model.conditioning)
                      for s in ("train", "val"))  # fmt: skip
        meta |= trained_notes(config)
    except ParameterError:
        if claimed == "new":  # nothing of the run exists: leave nothing to refuse a retry
            run_files.release(workdir)
        raise
    if claimed == "further":
        run_files.extend(workdir, resolved)
    state = init_state(model, config, mesh)
    checkpoints = Checkpoints(workdir)
    progress = {"epoch": 0, "best_val_mse": float("inf"), "best_epoch": 0, "train_seconds": 0.0}
    restored = checkpoints.restore(LATEST, target=state)
    if restored is not None:
        state, saved_meta = restored
        check_spectral(saved_meta, corpus_meta, what=f"resuming {workdir}")
        progress = {k: saved_meta[k] for k in progress}
        if main_process:
            print(f"resuming {workdir} after epoch {progress['epoch']}")
    rows = run_files.read_metrics(workdir, up_to_epoch=progress["epoch"])
    if main_process:
        run_files.write_metrics(workdir, rows)

    pitch = make_pitch_term(config.train, corpus_meta)
    train_step = make_train_step(model, config.train.l2_weight, pitch)
    evaluate = make_evaluate(model, mesh, config.train.eval_batch_size)
    last_save, unsaved_best = -np.inf, None  # unsaved_best: (epoch, params, meta)
    for epoch in range(progress["epoch"] + 1, config.train.epochs + 1):
        start = time.perf_counter()
        state, row = run_epoch(train_step, state, train, config, epoch, mesh, show=main_process)
        row["val_mse"] = evaluate(state.params, val)
        row["seconds"] = time.perf_counter() - start
        row["frames_per_second"] = len(train.frames) / row["seconds"]
        progress["epoch"] = epoch
        progress["train_seconds"] += row["seconds"]
        if row["val_mse"] < progress["best_val_mse"]:
            progress["best_val_mse"], progress["best_epoch"] = row["val_mse"], epoch
            unsaved_best = (epoch, jax.tree.map(jnp.copy, state.params), meta | progress)
        due = time.perf_counter() - last_save >= CHECKPOINT_SECONDS or epoch == config.train.epochs
        if agreed(due):
            if unsaved_best is not None:
                checkpoints.save(BEST, *unsaved_best)
                unsaved_best = None
            checkpoints.save(LATEST, epoch, jax.tree.map(jnp.copy, state), meta | progress)
            last_save = time.perf_counter()
        rows.append(row)
        if main_process:
            run_files.append_metrics(workdir, row)
            print_line(
                f"epoch {epoch:4d}/{config.train.epochs}  loss {row['train_loss']:.4e}  "
                f"val MSE {row['val_mse']:.4e}  {row['seconds']:6.1f} s  "
                f"{row['frames_per_second']:8.0f} frames/s"
            )
    checkpoints.wait()
    best_params, _ = checkpoints.restore(BEST, target=state.params)
    checkpoints.close()
    test = load_device_split(config.corpus, "test", mesh, conditioning=model.conditioning)
    final = {
        "test_mse_final": evaluate(state.params, test),
        "test_mse_best": evaluate(best_params, test),
        "val_mse_final": rows[-1]["val_mse"],
        "val_mse_best": progress["best_val_mse"],
        "best_epoch": progress["best_epoch"],
        "epochs": config.train.epochs,
        "train_seconds": progress["train_seconds"],
        "frames_per_second": float(np.median([r["frames_per_second"] for r in rows])),
        "device": distributed.describe_devices(),
    }
    if main_process:
        run_files.write_json(workdir, "final.json", final)
        plot_learning_curve(
            rows, Path(workdir) / "plots" / "learning_curve.png", title=str(workdir)
        )
        print(
            f"test MSE {final['test_mse_final']:.4e} (final), {final['test_mse_best']:.4e} "
            f"(best, epoch {final['best_epoch']}); {final['train_seconds']:.0f} s "
            f"on {final['device']}"
        )
    return final
