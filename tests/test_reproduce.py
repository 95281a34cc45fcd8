"""launch/reproduce.py: what the plan holds, where a row trains, and how it lands in the tables."""

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from timbre_jax.analysis.plots import embed_run

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("reproduce", ROOT / "launch" / "reproduce.py")
reproduce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reproduce)
PAPER = reproduce.load_paper_configs()


def mse_line(row: str, seed: int, epochs: int, mse: float = 3e-4) -> dict:
    final = {"test_mse_final": mse, "test_mse_best": mse, "epochs": epochs, "train_seconds": 600.0,
             "frames_per_second": 9000.0, "device": "1 x cpu (cpu)"}  # fmt: skip
    protocol = reproduce.Protocol(PAPER, "runs", "out")
    return reproduce.mse_line(protocol, reproduce.Entry(row, seed), final)


def test_every_row_is_in_the_plan_and_runs_where_its_seed_and_epochs_say():
    every_row = {r for rows in reproduce.TABLE_ROWS.values() for r in rows}
    assert every_row == set(PAPER.ROWS) == {e.row for e in reproduce.PLAN}
    assert set(PAPER.PAPER_TABLE5) == set(reproduce.TABLE_ROWS[5])
    assert len(set(reproduce.PLAN)) == len(reproduce.PLAN)
    full = reproduce.Protocol(PAPER, "runs/paper", "results")
    assert full.workdir(reproduce.Entry("table2_lrelu", 0)) == Path("runs/paper/table2_lrelu")
    assert full.workdir(reproduce.Entry("table2_lrelu", 2)) == Path("runs/paper/table2_lrelu_seed2")
    assert full.stem(3) == "table3"
    short = reproduce.Protocol(PAPER, "runs/paper", "results", epochs=1)
    assert short.workdir(reproduce.Entry("table3_lrelu", 0)) == Path("runs/paper_e1/table3_lrelu")
    assert short.stem(3) == "table3_e1"
    assert reproduce.tables_of(reproduce.Entry("table3_sigmoid_skip", 0)) == [3, 5]
    assert reproduce.tables_of(reproduce.Entry("table3_sigmoid_skip", 1)) == [3]


def test_the_plan_is_what_the_tables_lack(tmp_path):
    protocol = reproduce.Protocol(PAPER, tmp_path / "runs", tmp_path)
    for row in reproduce.TABLE_ROWS[2]:
        reproduce.upsert(protocol, 2, mse_line(row, 0, 300))
    reproduce.upsert(protocol, 3, mse_line("table3_lrelu", 0, 10))
    reproduce.upsert(protocol, 3, mse_line("table3_sigmoid", 0, 300))
    todo = dict(reproduce.pending(protocol))
    Entry = reproduce.Entry
    assert Entry("table2_lrelu", 0) not in todo  # at 300, and in no other table
    assert todo[Entry("table2_sigmoid_skip", 0)] == [5]  # its Table V mesh is missing
    assert todo[Entry("table3_lrelu", 0)] == [3]  # at 10 epochs
    assert Entry("table3_sigmoid", 0) not in todo
    assert todo[Entry("table3_sigmoid_skip", 0)] == [3, 5]
    assert {Entry("table2_lrelu", 1), Entry("table2_lrelu", 2), Entry("table3_lrelu", 1)} <= set(
        todo
    )
    order = [e for e, _ in reproduce.pending(protocol)]
    assert order[0] == Entry("table3_sigmoid_skip", 0) and order[-1].seed == 1


def test_a_landed_line_replaces_its_own_and_the_caption_follows(tmp_path):
    protocol = reproduce.Protocol(PAPER, tmp_path / "runs", tmp_path)
    for row in reproduce.TABLE_ROWS[3]:
        reproduce.upsert(protocol, 3, mse_line(row, 0, 10))
    assert "a SHORTENED protocol: 10 epochs" in (tmp_path / "table3.md").read_text()
    for row in reversed(reproduce.TABLE_ROWS[3]):  # landed in another order
        reproduce.upsert(protocol, 3, mse_line(row, 0, 300, mse=2e-4))
    text = (tmp_path / "table3.md").read_text()
    assert text.startswith("Table 3, the paper's protocol (300 epochs")
    with open(tmp_path / "table3.csv") as f:
        lines = list(csv.DictReader(f))
    assert [x["row"] for x in lines] == reproduce.TABLE_ROWS[3]
    assert {x["epochs"] for x in lines} == {"300"} and lines[0][
        "our test MSE (final)"
    ] == "2.000e-04"
    assert lines[0]["host CPU"] == reproduce.host_cpu() != ""


def test_seeds_of_a_row_are_summarised_by_mean_and_spread(tmp_path):
    protocol = reproduce.Protocol(PAPER, tmp_path / "runs", tmp_path)
    for seed, mse in enumerate([3.0e-4, 3.2e-4, 3.4e-4]):
        reproduce.upsert(protocol, 2, mse_line("table2_lrelu", seed, 300, mse))
    reproduce.upsert(protocol, 2, mse_line("table2_sigmoid", 0, 300))
    text = (tmp_path / "table2.md").read_text()
    assert "| table2_lrelu | 3 | 3.200e-04 | 2.0e-05 | 3.000e-04 - 3.400e-04 | 6.3% |" in text
    assert "| table2_sigmoid | 1 |" not in text  # one seed: no spread to give


def test_an_older_csv_reads_as_seed_0_with_its_missing_columns_unknown(tmp_path):
    (tmp_path / "table1.csv").write_text("row,epochs,our test MSE (final)\ntable1_diff,10,4e-4\n")
    protocol = reproduce.Protocol(PAPER, tmp_path / "runs", tmp_path)
    reproduce.upsert(protocol, 1, mse_line("table1_chroma", 0, 300))
    with open(tmp_path / "table1.csv") as f:
        lines = list(csv.DictReader(f))
    assert [(x["row"], x["seed"], x["host CPU"]) for x in lines] == [
        ("table1_diff", "0", "-"), ("table1_chroma", "0", reproduce.host_cpu())]  # fmt: skip


def test_table_5_lands_the_paper_line_beside_ours(tmp_path):
    protocol = reproduce.Protocol(PAPER, tmp_path / "runs", tmp_path)
    accuracy = dict.fromkeys(reproduce.mesh_sweep.NAMES, 0.5) | {"C#": None}
    result = {"accuracy": accuracy, "interior_accuracy": 0.6, "shell_accuracy": 0.4}
    entry = reproduce.Entry("table4_one_octave_skip", 0)
    for line in reproduce.accuracy_lines(protocol, entry, result, 300):
        reproduce.upsert(protocol, 5, line)
    text = (tmp_path / "table5.md").read_text()
    assert "| 3D One Octave | paper | 300 | 50 | .827 | - |" in text
    assert "| 3D One Octave | ours | 300 | 50 | 0.500 | - | 0.500 |" in text
    assert [e.row for e, t in reproduce.pending(protocol) if 5 in t][:1] == ["table3_sigmoid_skip"]
    assert reproduce.Entry("table4_one_octave_skip", 0) in dict(reproduce.pending(protocol))


@pytest.mark.slow
def test_table_3_trains_and_lands_with_its_figure_on_a_real_corpus(tiny_corpus, tmp_path):
    """The whole path at 1 epoch, the violin rows' corpus replaced by the tiny one."""
    corpora = tmp_path / "corpora"
    corpora.mkdir()
    (corpora / "violin").symlink_to(tiny_corpus)
    protocol = reproduce.Protocol(PAPER, tmp_path / "runs", tmp_path / "out", epochs=1,
                                  corpora=corpora)  # fmt: skip
    protocol.out.mkdir()
    Entry = reproduce.Entry
    reproduce.run_plan(protocol, [Entry("table3_lrelu", 0), Entry("table3_lrelu_skip", 0)], 2)
    reproduce.run_plan(protocol, [Entry("table3_sigmoid", 0)])
    assert not (protocol.out / "figure3_e1.png").exists()  # three of its four panels
    reproduce.run_plan(protocol, [Entry("table3_sigmoid", 1)])
    with open(protocol.out / "table3_e1.csv") as f:
        lines = list(csv.DictReader(f))
    final = json.loads((tmp_path / "runs_e1" / "table3_sigmoid_seed1" / "final.json").read_text())
    assert [(x["row"], x["seed"]) for x in lines] == [
        ("table3_lrelu", "0"), ("table3_lrelu_skip", "0"), ("table3_sigmoid", "0"),
        ("table3_sigmoid", "1")]  # fmt: skip
    assert lines[-1]["our test MSE (final)"] == f"{final['test_mse_final']:.3e}"
    assert "epoch    1/1" in (tmp_path / "runs_e1" / "table3_lrelu.log").read_text()
    assert lines[0]["our test MSE (final)"] != lines[1]["our test MSE (final)"]
    stored = np.load(protocol.out / "embeddings" / "table3_sigmoid_e1.npz")
    assert stored["latents"].shape[1] == 2 and bool(stored["sigmoid"]) and not bool(stored["skip"])
    _, coverage = embed_run(reproduce.load_run(tmp_path / "runs_e1" / "table3_sigmoid"))
    assert float(stored["coverage"]) == coverage  # the figure's title says what embed says
    assert not (protocol.out / "embeddings" / "table3_sigmoid_seed1_e1.npz").exists()
    assert (protocol.out / "audio" / "table3_lrelu_e1.wav").stat().st_size > 100_000
    # the fourth panel's row is Table V's (a 350 x 350 mesh): a stored embedding stands in
    (protocol.out / "embeddings" / "table3_sigmoid_skip_e1.npz").write_bytes(
        (protocol.out / "embeddings" / "table3_lrelu_skip_e1.npz").read_bytes()
    )
    assert reproduce.embedding_figure(protocol, 3)
    assert (protocol.out / "figure3_e1.png").stat().st_size > 10_000


def test_the_committed_results_stay_small():
    import subprocess

    listed = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()  # fmt: skip
    assert listed and sum((ROOT / p).stat().st_size for p in listed) < 40e6  # issue 16's bound
