import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import assert_drawn, cpu_devices, initialised_run
from timbre_jax import mesh
from timbre_jax.analysis import mesh_sweep
from timbre_jax.errors import ParameterError
from timbre_jax.model.run import load_run

ROOT = Path(__file__).resolve().parents[1]


def test_unit_mesh_points_are_cell_centres_in_c_order():
    points = mesh_sweep.unit_mesh_points(np.arange(6), 3, 2)
    np.testing.assert_allclose(
        points[:4], [[1 / 6, 1 / 6], [1 / 6, 0.5], [1 / 6, 5 / 6], [0.5, 1 / 6]]
    )


def test_default_points_follow_the_paper():
    assert [mesh_sweep.default_points(d) for d in (2, 3, 8)] == [350, 50, 5]
    assert mesh_sweep.default_points(4) ** 4 == pytest.approx(150_000, rel=0.2)
    # a note model over five octaves gets as many decodes in all as the paper's chroma table
    assert 61 * mesh_sweep.default_points(2, 61) ** 2 == pytest.approx(12 * 350**2, rel=0.01)


def test_mesh_accuracy_matches_a_direct_decode(skip_run):
    result = mesh_sweep.sweep(load_run(skip_run), points=20, chunk=64, progress=False)
    assert result["points_per_class"] == 400 and result["latent_dim"] == 2
    # the tiny corpus sounds C, E and G: the other classes are reported as absent
    present = {k for k, v in result["accuracy"].items() if v is not None}
    assert present == {"C", "E", "G"}
    # recompute one class by decoding the mesh directly
    from timbre_jax.dsp import chroma

    loaded = load_run(skip_run)
    z = mesh_sweep.unit_mesh_points(np.arange(400), 20, 2).astype(np.float32)
    one_hot = np.tile(np.eye(12, dtype=np.float32)[4], (400, 1))
    frames = loaded.model.apply({"params": loaded.params}, z, one_hot, method="decode")
    bank = chroma.filterbank("pitch_filterbank", sample_rate=44100, n_fft=4096)
    expected = np.mean(np.argmax(chroma.chroma(frames, bank=bank), axis=1) == 4)
    assert result["accuracy"]["E"] == pytest.approx(expected)
    assert 0 <= result["shell_accuracy"] <= 1 and result["shell_fraction"] == pytest.approx(0.36)
    assert_drawn(skip_run / "plots" / "mesh_classes.png")


@pytest.mark.slow
def test_sobol_sampling_and_the_table(skip_run, capsys):
    result = mesh_sweep.sweep(load_run(skip_run), sobol=256, chunk=64, progress=False)
    assert result["sampling"] == "sobol" and result["points_per_class"] == 256
    assert mesh.main(["--workdir", str(skip_run), "--points", "10", "--chunk", "64"]) == 0
    header, rule, row = capsys.readouterr().out.splitlines()[:3]
    assert header.startswith("| Model | Mesh Length | C | C# |") and rule.startswith("|---|")
    assert row.startswith(f"| {skip_run.name} | 10 | ") and row.count("–") == 9
    assert mesh.main(["--table", str(skip_run)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| Model | Mesh Length | C | C# |") and table[2] == row


def sweep_on_cpus(workdir, devices: int) -> tuple[str, dict]:
    """(local device count, accuracy) of a 30 x 30 sweep in a process with `devices` CPUs."""
    code = ("import json, sys, jax; from timbre_jax.analysis.mesh_sweep import sweep; "
            "from timbre_jax.model.run import load_run; "
            "r = sweep(load_run(sys.argv[1]), points=30, chunk=64, progress=False); "
            "print(jax.local_device_count(), json.dumps(r['accuracy']))")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code, str(workdir)], env=cpu_devices(devices),
                         cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    count, accuracy = run.stdout.split(" ", 1)
    return count, json.loads(accuracy)


@pytest.mark.slow
def test_four_devices_give_the_same_table(skip_run, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(skip_run, workdir)
    (count, four), (_, one) = sweep_on_cpus(workdir, 4), sweep_on_cpus(skip_run, 1)
    assert count == "4" and four == one


def test_bad_input_is_named(skip_run, tmp_path):
    with pytest.raises(ParameterError, match="--points must be at least 2"):
        mesh_sweep.sweep(load_run(skip_run), points=1)
    with pytest.raises(ParameterError, match="--chunk"):
        mesh_sweep.sweep(load_run(skip_run), points=10, chunk=10**6)
    with pytest.raises(ParameterError, match="no best checkpoint"):
        mesh_sweep.sweep(load_run(tmp_path))
    with pytest.raises(ParameterError, match="mesh.json"):
        mesh_sweep.table([tmp_path])


def test_a_model_without_chroma_skip_is_refused(tiny_corpus):
    with pytest.raises(ParameterError, match="no chroma skip"):
        mesh_sweep.sweep(initialised_run(tiny_corpus, model__chroma_skip=False))
