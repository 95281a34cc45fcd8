"""Training: loss, optimiser, the jitted step, `train_and_evaluate(config, workdir)`, `main`.

    python -m timbre_jax.train --config configs/default.py --workdir runs/default \
        [--config.train.epochs=3]

Loss = MSE(reconstruction, frame) + l2_weight * sum(kernel**2) [+ beta * KL for the VAE],
minimised by Adam: coupled L2, as in the paper's Keras models. A run resumes from its
workdir's latest checkpoint when the same command is given again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training.train_state import TrainState
from tqdm import tqdm

from timbre_jax import distributed
from timbre_jax import workdir as run_files
from timbre_jax.checkpoint import BEST, LATEST, SPECTRAL_KEYS, Checkpoints, check_spectral
from timbre_jax.corpus.report import load_metadata
from timbre_jax.dataset import epoch_batches, gather, load_device_split, weighted_mean
from timbre_jax.errors import ParameterError
from timbre_jax.models import N_BINS, Autoencoder, validate_model_fields
from timbre_jax.plots import plot_learning_curve

FIELDS = {
    "corpus", "seed", "model.kind", "model.latent_dim", "model.bottleneck", "model.chroma_skip",
    "model.augment", "model.beta", "model.beta_warmup_epochs", "train.epochs",
    "train.batch_size", "train.learning_rate", "train.l2_weight", "train.eval_batch_size",
}  # fmt: skip
ACTIVE_KL = 0.01  # nats: a VAE latent dimension whose mean KL exceeds this is active
ADAM_EPSILON = 1e-7  # Keras's Adam epsilon


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def validate_config(config: ml_collections.ConfigDict) -> dict:
    """Checks every field before anything is trained or written; returns the config as a dict."""
    flat = run_files._flatten(config.to_dict())
    unknown, missing = sorted(flat.keys() - FIELDS), sorted(FIELDS - flat.keys())
    if unknown or missing:
        raise ParameterError(f"config fields unknown: {unknown}, missing: {missing}")
    m, t = config.model, config.train
    validate_model_fields(
        kind=m.kind, latent_dim=m.latent_dim, bottleneck=m.bottleneck, augment=m.augment
    )
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
    if not isinstance(m.chroma_skip, bool):
        raise ParameterError(f"model.chroma_skip must be true or false, got {m.chroma_skip!r}")
    return config.to_dict()


def build_model(config) -> Autoencoder:
    m = config.model
    return Autoencoder(m.latent_dim, m.bottleneck, m.chroma_skip, m.augment, m.kind, N_BINS)


def l2_penalty(params) -> jax.Array:
    """Sum of squared kernel weights (biases excluded)."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    return sum(jnp.sum(jnp.square(w)) for path, w in leaves if path[-1].key == "kernel")


def make_train_step(model: Autoencoder, l2_weight: float):
    """Jitted (state, data, index [steps, B], weight, step, beta, key) -> (state, metrics)."""

    def train_step(state, data, index, weight, step, beta, key):
        batch_index, batch_weight = index[step], weight[step]
        frames, chroma, diff = gather(data, batch_index)

        def loss_fn(params):
            recon, _, kl = model.apply(
                {"params": params}, frames, chroma, diff, rngs={"sample": key}
            )
            mse = weighted_mean(jnp.mean(jnp.square(recon - frames), axis=-1), batch_weight)
            kl_per_dim = weighted_mean(kl, batch_weight)
            loss = mse + l2_weight * l2_penalty(params) + beta * jnp.sum(kl_per_dim)
            return loss, {"loss": loss, "mse": mse, "kl_per_dim": kl_per_dim}

        grads, metrics = jax.grad(loss_fn, has_aux=True)(state.params)
        return state.apply_gradients(grads=grads), metrics

    return jax.jit(train_step, donate_argnums=0)


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


def describe_devices() -> str:
    """E.g. "4 x cpu (cpu)" or "1 x NVIDIA H100 80GB HBM3 (gpu)"."""
    return f"{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()})"


def corpus_settings(config) -> dict:
    """corpus.json of the configured corpus, checked against the models' frame size."""
    corpus_meta = load_metadata(config.corpus)
    if corpus_meta["n_fft"] // 2 + 1 != N_BINS:
        raise ParameterError(
            f"corpus {config.corpus!r} has n_fft={corpus_meta['n_fft']}; the models need "
            f"{2 * (N_BINS - 1)}-point frames"
        )
    return corpus_meta


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
    example = [jnp.zeros((1, N_BINS)), jnp.zeros((1, 12)), jnp.zeros((1, N_BINS))]
    key = jax.random.fold_in(jax.random.key(config.seed), 0)
    params = jax.jit(model.init)(key, *example)["params"]
    sharding = distributed.replicated(mesh)
    params = jax.tree.map(lambda p: distributed.global_array(np.asarray(p), sharding), params)
    tx = optax.adam(config.train.learning_rate, eps=ADAM_EPSILON)
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx)


def run_epoch(train_step, state, data, config, epoch: int, mesh, *, show: bool):
    """One pass over the training split; returns the new state and the epoch's metrics."""
    n_frames = len(data.frames)
    index, weight = epoch_batches(n_frames, config.train.batch_size, seed=config.seed, epoch=epoch)
    n_steps = len(index)
    index, weight = (
        distributed.global_array(a, distributed.batch_sharded(mesh)) for a in (index, weight)
    )
    sample_key = jax.random.fold_in(jax.random.key(config.seed), 1)
    warmup = config.model.beta_warmup_epochs
    step_metrics = []
    for step in tqdm(range(n_steps), desc=f"epoch {epoch}", leave=False, disable=not show):
        fraction = (epoch - 1 + step / n_steps) / warmup if warmup else 1.0
        beta = config.model.beta * min(1.0, fraction)
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
    if main_process:
        run_files.claim(workdir, resolved)
    meta = checkpoint_meta(config, corpus_meta)
    model = build_model(config)
    train, val = (load_device_split(config.corpus, s, mesh) for s in ("train", "val"))
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

    train_step = make_train_step(model, config.train.l2_weight)
    evaluate = make_evaluate(model, mesh, config.train.eval_batch_size)
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
            checkpoints.save(BEST, epoch, state.params, meta | progress)
        checkpoints.save(LATEST, epoch, state, meta | progress)
        rows.append(row)
        if main_process:
            run_files.append_metrics(workdir, row)
            tqdm.write(
                f"epoch {epoch:4d}/{config.train.epochs}  loss {row['train_loss']:.4e}  "
                f"val MSE {row['val_mse']:.4e}  {row['seconds']:6.1f} s  "
                f"{row['frames_per_second']:8.0f} frames/s"
            )
    checkpoints.wait()
    best_params, _ = checkpoints.restore(BEST, target=state.params)
    checkpoints.close()
    test = load_device_split(config.corpus, "test", mesh)
    final = {
        "test_mse_final": evaluate(state.params, test),
        "test_mse_best": evaluate(best_params, test),
        "val_mse_final": rows[-1]["val_mse"],
        "val_mse_best": progress["best_val_mse"],
        "best_epoch": progress["best_epoch"],
        "epochs": config.train.epochs,
        "train_seconds": progress["train_seconds"],
        "frames_per_second": float(np.median([r["frames_per_second"] for r in rows])),
        "device": describe_devices(),
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


def main() -> None:
    """Parses --config (a configs/*.py file[:arg], with --config.FIELD=VALUE overrides) and
    --workdir, joins a multi-host run if --coordinator is given, trains, and exits 2 with one
    line on stderr for bad input."""
    from absl import app, flags, logging
    from ml_collections import config_flags

    config_flag = config_flags.DEFINE_config_file("config", None, "a configs/*.py file[:arg]")
    workdir_flag = flags.DEFINE_string("workdir", None, "folder for everything the run makes")
    coordinator = flags.DEFINE_string("coordinator", None, "multi-host: HOST:PORT of process 0")
    num_processes = flags.DEFINE_integer("num_processes", 1, "multi-host: processes in the run")
    process_id = flags.DEFINE_integer("process_id", 0, "multi-host: this process's index")
    flags.mark_flags_as_required(["config", "workdir"])

    def run(_) -> int:
        logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
        if coordinator.value:
            distributed.initialize(coordinator.value, num_processes.value, process_id.value)
        try:
            train_and_evaluate(config_flag.value, workdir_flag.value)
        except ParameterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0

    app.run(run)


if __name__ == "__main__":
    main()
