"""Pretrained models: the float16 export of a run, and the models shipped in results/pretrained."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from timbre_jax import pretrained
from timbre_jax.analysis.embedding import training_embedding
from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.errors import ParameterError
from timbre_jax.model.checkpoint import BEST, Checkpoints
from timbre_jax.model.run import (
    PRETRAINED_DIR,
    Run,
    describe_model,
    load_run,
    pretrained_names,
    run_folder,
)
from timbre_jax.render import main as render_main
from timbre_jax.synth.__main__ import main as synth_main
from timbre_jax.training.export import MAX_MSE_CHANGE, export, start_point


def test_export_keeps_the_sound_in_float16(skip_run, tmp_path):
    info = export(load_run(skip_run), tmp_path / "model")
    assert info["relative_change"] < MAX_MSE_CHANGE
    assert json.loads((tmp_path / "model" / "pretrained.json").read_text()) == info
    assert not (tmp_path / "model" / "checkpoints" / "latest").exists()
    stored, _ = Checkpoints(tmp_path / "model", which=(BEST,)).restore(BEST)
    assert {a.dtype for a in jax.tree.leaves(stored)} == {np.dtype(np.float16)}
    loaded = load_run(tmp_path / "model")
    assert {a.dtype for a in jax.tree.leaves(loaded.params)} == {np.dtype(np.float32)}
    assert sorted(p.name for p in (tmp_path / "model" / "checkpoints").iterdir()) == [BEST]
    z, note = np.random.default_rng(0).uniform(size=(64, 2)), np.eye(12)[np.arange(64) % 12]
    decoded = [
        np.asarray(m.model.apply({"params": m.params}, z, note, method="decode"))
        for m in (load_run(skip_run), loaded)
    ]
    np.testing.assert_allclose(decoded[1], decoded[0], atol=1e-3)


def test_export_never_replaces_what_is_not_an_exported_model(skip_run):
    with pytest.raises(ParameterError, match="not a pretrained model"):
        export(load_run(skip_run), skip_run.parent)
    assert (skip_run / "final.json").is_file()


def tree_digest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under a folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_export_goes_to_your_models_and_replaces_only_when_asked(skip_run, user_models, capsys):
    argv = ["export", "--workdir", str(skip_run), "--name", "mine"]
    assert pretrained.main(argv) == 0
    assert capsys.readouterr().out.strip().endswith(f"written to {user_models / 'mine'}")
    assert run_folder(model="mine") == user_models / "mine"
    assert describe_model(run_folder(model="mine")).startswith("model mine: yours")
    before = tree_digest(user_models / "mine")
    assert pretrained.main(argv) == 2
    assert "exists: give --overwrite to replace it" in capsys.readouterr().err
    assert tree_digest(user_models / "mine") == before
    assert pretrained.main([*argv, "--overwrite"]) == 0
    assert "mine" in pretrained_names()
    shutil.rmtree(user_models / "mine")


def test_a_shipped_model_is_never_replaced(skip_run, capsys):
    shipped = PRETRAINED_DIR / "violin"
    before = tree_digest(shipped)
    argv = ["export", "--workdir", str(skip_run), "--name", "violin", "--out", str(shipped)]
    assert pretrained.main([*argv, "--overwrite"]) == 2
    assert "is a shipped model" in capsys.readouterr().err
    assert tree_digest(shipped) == before
    assert describe_model(run_folder(model="violin")).startswith("model violin: shipped")


def test_your_model_of_a_shipped_name_is_played_and_said(skip_run, user_models, capsys, tmp_path):
    assert pretrained.main(["export", "--workdir", str(skip_run), "--name", "keys"]) == 0
    note = NOTE_NAMES[load_run(skip_run).trained_classes[0]]
    out = tmp_path / "keys.wav"
    try:
        assert run_folder(model="keys") == user_models / "keys"
        assert render_main(["--model", "keys", "--note", note, "--seconds", "0.2",
                            "--out", str(out)]) == 0  # fmt: skip
    finally:
        shutil.rmtree(user_models / "keys")
    assert capsys.readouterr().out.splitlines()[-2].startswith("model keys: yours")
    assert run_folder(model="keys") == PRETRAINED_DIR / "keys"


@pytest.mark.slow
def test_a_package_away_from_its_clone_finds_the_shipped_models_by_the_variable(tmp_path):
    """As a wheel installed elsewhere would: the package alone (no results/ beside it) says
    where to look, then finds and describes the models that $TIMBRE_JAX_PRETRAINED names."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "timbre_jax", tmp_path / "timbre_jax")
    shipped = tmp_path / "models"
    shutil.copytree(PRETRAINED_DIR / "violin", shipped / "violin")
    code = ("from timbre_jax.model.run import describe_model, run_folder; "
            "print(describe_model(run_folder(model='violin')))")  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(tmp_path), "TIMBRE_JAX_MODELS": str(tmp_path / "mine")}
    env.pop("TIMBRE_JAX_PRETRAINED", None)
    alone = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert alone.returncode != 0 and "set $TIMBRE_JAX_PRETRAINED to a clone" in alone.stderr
    env |= {"TIMBRE_JAX_PRETRAINED": str(shipped)}
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert found.stdout.strip() == f"model violin: shipped ({shipped / 'violin'})", found.stderr


@pytest.mark.parametrize("name", ["", "..", "../x", "a/b"])
def test_export_names_are_plain(name, capsys):
    with pytest.raises(SystemExit):
        pretrained.main(["export", "--workdir", "runs/x", "--name", name])
    assert "a model name is" in capsys.readouterr().err


def test_the_shipped_models_are_one_octave_keys_and_violin():
    assert {p.name for p in PRETRAINED_DIR.iterdir()} == {"one_octave", "keys", "violin"}
    for name, conditioning in [("one_octave", "chroma"), ("keys", "note"), ("violin", "note")]:
        run = load_run(run_folder(model=name))
        meta = run.meta["model"]
        assert json.loads((run.folder / "pretrained.json").read_text())["epochs"] >= 10
        assert (meta["latent_dim"], meta["bottleneck"], meta["chroma_skip"]) == (2, "sigmoid", True)
        assert run.conditioning == conditioning
    keys = load_run(run_folder(model="keys"))
    assert keys.trained_notes == tuple(range(36, 97)) and keys.untrained(range(128)) == []


# the "done when": black keys and corners of the pad, by pYIN on the rendered WAV
@pytest.mark.parametrize("latent", ["0.05,0.05", "0.95,0.95"])
@pytest.mark.parametrize(("model", "note"), [("keys", "C#3"), ("keys", "F#6"), ("violin", "A#4")])
def test_the_shipped_note_models_play_the_key_at_the_corners(model, note, latent, tmp_path):
    import librosa

    from timbre_jax.corpus.pitch_labels import PYIN_FMAX, PYIN_FMIN
    from timbre_jax.synth.automation import parse_note

    out = tmp_path / f"{note}.wav"
    argv = ["--model", model, "--note", note, "--latent", latent, "--seconds", "2", "--out",
            str(out)]  # fmt: skip
    assert render_main(argv) == 0
    audio, rate = librosa.load(out, sr=None)
    f0, voiced, _ = librosa.pyin(audio, fmin=PYIN_FMIN, fmax=PYIN_FMAX, sr=rate, frame_length=4096)
    assert voiced.mean() > 0.5
    cents = 100 * (librosa.hz_to_midi(np.median(f0[voiced])) - parse_note(note))
    assert abs(cents) < 50, (model, note, latent, cents)


def test_a_shipped_model_brings_its_embedding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where its corpus (data/corpora/...) is not found
    latents, notes = training_embedding(load_run(run_folder(model="one_octave")))
    assert latents.shape == (len(notes), 2) and 0 <= latents.min() <= latents.max() <= 1
    assert set(notes.tolist()) <= set(range(12))


@pytest.mark.slow
def test_the_panel_opens_on_a_pretrained_model(tmp_path):
    command = [sys.executable, "-m", "timbre_jax.synth", "--model", "violin", "--quit-after", "1",
               "--record-dir", str(tmp_path)]  # fmt: skip
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]


def test_an_unknown_pretrained_model_is_refused(capsys):
    assert synth_main(["--model", "cello"]) == 2
    assert "no pretrained model 'cello'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["--model", "violin", "--workdir", "runs/x"]])
def test_the_synth_needs_exactly_one_model(argv, capsys):
    try:
        code = synth_main(argv)
    except SystemExit as exit:  # argparse's own refusal of both
        code = exit.code
    assert code == 2 and capsys.readouterr().err.startswith("error: ")


def test_a_note_model_starts_where_the_most_trained_notes_are_right(tmp_path):
    notes = np.full((3, 4, 4), 50, np.int8)  # conditions C4 C#4 D4 on a 4 x 4 mesh
    notes[0, 1, 2] = notes[0, 3, 3] = notes[2, 3, 3] = 60  # wrong decodes of D4 ...
    notes[2, 1, 2] = 62  # ... right only at cell (1, 2), with C4
    notes[1, 1, 1] = 61  # C#4 right there, but it was never trained
    np.savez(tmp_path / "mesh_notes.npz", conditions=[60, 61, 62], notes=notes,
             extent=np.array([0.0, 1.0, 0.0, 1.0]), conditioning="note")  # fmt: skip
    run = Run(tmp_path, None, {}, {"trained_notes": [60, 62], "model": {"latent_dim": 2}})
    assert start_point(run) == [0.375, 0.625]
    assert Run(tmp_path, None, {}, {"start_latent": [0.1, 0.2]}).start_latent == (0.1, 0.2)
