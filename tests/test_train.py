import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.helpers import assert_drawn, cpu_devices, smoke
from timbre_jax.errors import ParameterError
from timbre_jax.model.checkpoint import check_spectral
from timbre_jax.model.run import load_run
from timbre_jax.training.distributed import describe_devices
from timbre_jax.training.loop import ACTIVE_KL, TrainingDiverged, l2_penalty, train_and_evaluate

ROOT = Path(__file__).resolve().parents[1]


def train_cli(workdir, corpus, *extra, devices=1):
    command = [sys.executable, "-m", "timbre_jax.train", "--config", "configs/default.py:smoke",
               "--workdir", str(workdir), f"--config.corpus={corpus}", *extra]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=cpu_devices(devices), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.fixture(scope="module")
def one_cpu_run(tiny_corpus, tmp_path_factory):
    """final.json of the smoke config trained by the command line on one CPU device."""
    workdir = tmp_path_factory.mktemp("runs") / "one_cpu"
    run = train_cli(workdir, tiny_corpus)
    assert run.wait(timeout=300) == 0, run.stderr.read()
    return json.loads((workdir / "final.json").read_text())


def test_a_run_writes_a_complete_workdir(trained_run):
    workdir, final = trained_run
    config = json.loads((workdir / "config.json").read_text())
    assert config["model"]["latent_dim"] == 2 and config["train"]["epochs"] == 2
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert set(rows[0]) >= {"train_loss", "val_mse", "seconds", "frames_per_second"}
    assert json.loads((workdir / "final.json").read_text()) == final
    assert set(final) >= {"test_mse_final", "test_mse_best", "val_mse_best", "train_seconds",
                          "device", "frames_per_second"}  # fmt: skip
    assert 0 < final["test_mse_best"] < 0.1 and final["device"] == describe_devices()
    assert_drawn(workdir / "plots" / "learning_curve.png")
    assert (workdir / "checkpoints" / "latest" / "2").is_dir()


def test_the_decoder_loads_from_the_workdir_alone(trained_run, tiny_corpus):
    workdir, final = trained_run
    loaded = load_run(workdir)
    assert loaded.meta["model"]["latent_dim"] == 2 and loaded.meta["spectral"]["n_fft"] == 4096
    frames = jnp.asarray(np.load(tiny_corpus / "test" / "frames.npy"))
    chroma = jnp.asarray(np.load(tiny_corpus / "test" / "chroma.npy"))
    variables = {"params": loaded.params}
    z = loaded.model.apply(variables, frames, chroma, method="encode")
    recon = loaded.model.apply(variables, z, chroma, method="decode")
    np.testing.assert_allclose(jnp.mean((recon - frames) ** 2), final["test_mse_best"], rtol=1e-4)
    corpus_meta = json.loads((tiny_corpus / "corpus.json").read_text())
    with pytest.raises(ParameterError, match="chroma_method='librosa'"):
        check_spectral(loaded.meta, corpus_meta | {"chroma_method": "librosa"}, what="mesh")
    with pytest.raises(ParameterError, match="no best checkpoint"):
        load_run(workdir.parent / "nothing")


def test_a_changed_config_is_refused(trained_run, tiny_corpus):
    workdir, _ = trained_run
    saved = (workdir / "config.json").read_text()
    with pytest.raises(ParameterError, match=r"model.latent_dim: 2 -> 3"):
        train_and_evaluate(smoke(tiny_corpus, model__latent_dim=3, train__epochs=3), workdir)
    with pytest.raises(ParameterError, match=r"train.epochs: 2 -> 1"):
        train_and_evaluate(smoke(tiny_corpus, train__epochs=1), workdir)
    assert (workdir / "config.json").read_text() == saved


@pytest.mark.slow
def test_a_finished_run_trains_further_to_the_same_metrics(tiny_corpus, tmp_path):
    straight = train_and_evaluate(smoke(tiny_corpus, train__epochs=4), tmp_path / "straight")
    first = train_and_evaluate(smoke(tiny_corpus, train__epochs=2), tmp_path / "further")
    further = train_and_evaluate(smoke(tiny_corpus, train__epochs=4), tmp_path / "further")
    assert first["epochs"] == 2 and further["epochs"] == 4
    for key in ("test_mse_final", "test_mse_best", "val_mse_final", "val_mse_best", "best_epoch"):
        assert further[key] == straight[key], key
    rows = (tmp_path / "further" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2, 3, 4]
    assert json.loads((tmp_path / "further" / "config.json").read_text())["train"]["epochs"] == 4


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_metrics(tiny_corpus, tmp_path):
    n_epochs = 16  # the run goes on for a while after its first checkpoint is on disk
    epochs = f"--config.train.epochs={n_epochs}"
    whole = train_cli(tmp_path / "whole", tiny_corpus, epochs)
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    killed = train_cli(tmp_path / "killed", tiny_corpus, epochs)
    metrics = tmp_path / "killed" / "metrics.jsonl"
    latest = tmp_path / "killed" / "checkpoints" / "latest"

    def saved_and_running() -> bool:
        """Three epochs done and the first epoch's checkpoint finished (saves are asynchronous:
        an unfinished one is a directory with a temporary name)."""
        rows = len(metrics.read_text().splitlines()) if metrics.exists() else 0
        return rows >= 3 and latest.is_dir() and any(p.name.isdigit() for p in latest.iterdir())

    deadline = time.time() + 240
    while time.time() < deadline and not saved_and_running():
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "killed" / "final.json").exists()
    resumed = train_cli(tmp_path / "killed", tiny_corpus, epochs)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "resuming" in out
    a, b = (json.loads((tmp_path / w / "final.json").read_text()) for w in ("whole", "killed"))
    for key in ("test_mse_final", "test_mse_best", "val_mse_best", "best_epoch"):
        assert a[key] == b[key], key
    rows = [json.loads(line)["epoch"] for line in metrics.read_text().splitlines()]
    assert rows == list(range(1, n_epochs + 1))


@pytest.mark.slow
def test_ctrl_c_is_one_line_and_the_run_resumes(tiny_corpus, tmp_path):
    workdir = tmp_path / "run"
    run = train_cli(workdir, tiny_corpus, "--config.train.epochs=40")
    latest = workdir / "checkpoints" / "latest"
    deadline = time.time() + 240
    while time.time() < deadline and not (latest.is_dir() and any(
            p.name.isdigit() for p in latest.iterdir())):  # fmt: skip
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "Traceback" not in err
    saved = max(int(p.name) for p in latest.iterdir() if p.name.isdigit())
    assert err.strip().splitlines()[-1] == (
        f"interrupted: run the same command to resume after epoch {saved}"
    )
    assert not (workdir / "final.json").exists()
    resumed = train_cli(workdir, tiny_corpus, "--config.train.epochs=40")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"resuming {workdir} after epoch {saved}" in out


@pytest.mark.slow
def test_four_devices_match_one(one_cpu_run, tiny_corpus, tmp_path):
    run = train_cli(tmp_path / "four", tiny_corpus, devices=4)
    assert run.wait(timeout=300) == 0, run.stderr.read()
    one, four = one_cpu_run, json.loads((tmp_path / "four" / "final.json").read_text())
    assert four["device"].startswith("4 x") and one["device"].startswith("1 x")
    for key in ("test_mse_final", "test_mse_best", "val_mse_final"):
        np.testing.assert_allclose(four[key], one[key], rtol=1e-4)


@pytest.mark.slow
def test_the_pitch_term_trains_alike_on_four_devices(tiny_corpus, tmp_path):
    """The pad points (replicated) are decoded in one pass with the batch (sharded)."""
    pitch = "--config.train.pitch_weight=1e-4"
    runs = {n: train_cli(tmp_path / str(n), tiny_corpus, pitch, devices=n) for n in (1, 4)}
    for run in runs.values():
        _, stderr = run.communicate(timeout=300)  # read while it runs: both write at once
        assert run.returncode == 0, stderr
    finals = [json.loads((tmp_path / str(n) / "final.json").read_text()) for n in runs]
    for key in ("test_mse_final", "test_mse_best", "val_mse_final"):
        np.testing.assert_allclose(finals[1][key], finals[0][key], rtol=1e-4)
    rows = [(tmp_path / str(n) / "metrics.jsonl").read_text().splitlines() for n in runs]
    cross_entropy = [json.loads(r[-1])["train_pitch_ce"] for r in rows]
    assert cross_entropy[0] > 0
    np.testing.assert_allclose(cross_entropy[1], cross_entropy[0], rtol=1e-4)


def nan_corpus(tiny_corpus, folder):
    shutil.copytree(tiny_corpus, folder)
    frames = np.load(folder / "train" / "frames.npy")
    frames[3, 7] = np.nan
    np.save(folder / "train" / "frames.npy", frames)
    return folder


@pytest.mark.slow
def test_non_finite_loss_stops_the_run_naming_epoch_and_step(tiny_corpus, tmp_path):
    corpus = nan_corpus(tiny_corpus, tmp_path / "nan")
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step \d"):
        train_and_evaluate(smoke(corpus), tmp_path / "run")


@pytest.mark.slow
def test_vae_reports_kl_per_latent_dimension(tiny_corpus, tmp_path):
    train_and_evaluate(smoke(tiny_corpus, model__kind="vae", model__latent_dim=3), tmp_path / "v")
    row = json.loads((tmp_path / "v" / "metrics.jsonl").read_text().splitlines()[-1])
    assert len(row["kl_per_dim"]) == 3 and all(kl >= 0 for kl in row["kl_per_dim"])
    assert row["active_dims"] == sum(kl > ACTIVE_KL for kl in row["kl_per_dim"])


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"model__latent_dim": 0}, "model.latent_dim"),
        ({"train__epochs": -1}, "train.epochs"),
        ({"model__bottleneck": "tanh"}, "model.bottleneck"),
        ({"train__learning_rate": float("nan")}, "train.learning_rate"),
        ({"corpus": "/nowhere/corpus"}, "not a corpus folder"),
    ],
)
def test_bad_configs_fail_before_anything_is_written(tiny_corpus, tmp_path, overrides, match):
    overrides = dict(overrides)
    corpus = overrides.pop("corpus", tiny_corpus)
    with pytest.raises(ParameterError, match=match):
        train_and_evaluate(smoke(corpus, **overrides), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unknown_field_and_mismatched_corpus_are_refused(tiny_corpus, tmp_path):
    config = smoke(tiny_corpus)
    config.unlock()
    config.model.dropout = 0.5
    with pytest.raises(ParameterError, match="dropout"):
        train_and_evaluate(config, tmp_path / "run")
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus)
    meta = json.loads((corpus / "corpus.json").read_text())
    (corpus / "corpus.json").write_text(json.dumps(meta | {"n_fft": 2048}))
    with pytest.raises(ParameterError, match="n_fft=2048"):
        train_and_evaluate(smoke(corpus), tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_cli_errors_exit_2(tiny_corpus, tmp_path):
    # the real command line; every other mistake is tried in-process in tests/test_cli.py
    run = train_cli(tmp_path / "w", tiny_corpus, "--config.model.latent_dim=0")
    _, err = run.communicate(timeout=120)
    assert run.returncode == 2 and "model.latent_dim" in err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, no traceback


def test_l2_penalty_sums_kernels_only():
    params = {
        "a": {"kernel": jnp.full((2, 3), 2.0), "bias": jnp.ones(3)},
        "b": {"kernel": jnp.ones(4)},
    }
    assert float(l2_penalty(params)) == 2 * 3 * 4 + 4


@pytest.mark.slow
def test_two_processes_train_like_one(one_cpu_run, tiny_corpus, tmp_path):
    workdir = tmp_path / "mp"
    command = [sys.executable, "launch/multiprocess.py", "--processes", "2",
               "--devices-per-process", "2", "--", "--config", "configs/default.py:smoke",
               "--workdir", str(workdir), f"--config.corpus={tiny_corpus}"]  # fmt: skip
    # its own session, so that a hung run's workers are killed with it, not left spinning
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)  # fmt: skip
    try:
        _, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    # both ends of the processes' output: the first error is the cause, the last its effect
    # (two processes once collided in Orbax's barriers: model/checkpoint.py)
    errors = [line for line in stderr.splitlines() if "Error" in line]
    assert run.returncode == 0, "\n".join([*errors[:10], "...", stderr[-2000:]])
    final = json.loads((workdir / "final.json").read_text())
    assert final["device"].startswith("4 x")
    for key in ("test_mse_final", "test_mse_best"):
        np.testing.assert_allclose(final[key], one_cpu_run[key], rtol=1e-4)


@pytest.mark.slow
def test_the_timed_step_trains_the_configured_model_on_random_frames():
    from timbre_jax.training.throughput import SyntheticSteps

    steps = SyntheticSteps(smoke("none: random frames"), frames=400)  # batch 40
    assert steps.steps_per_epoch == 10 and steps.pitch is None
    before = [np.array(a) for a in jax.tree.leaves(steps.state.params)]
    assert steps.run(3) > 0
    after = [np.asarray(a) for a in jax.tree.leaves(steps.state.params)]
    assert all(np.any(a != b) for a, b in zip(after, before, strict=True))  # every one trained
    assert steps.frames_per_second(seconds=0.2) > 0
