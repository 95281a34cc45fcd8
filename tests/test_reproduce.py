"""launch/reproduce.py: which runs a protocol trains where, and how its tables say so."""

import argparse
import csv
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("reproduce", ROOT / "launch" / "reproduce.py")
reproduce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reproduce)


def test_rows_go_to_the_run_folder_of_their_epochs():
    paper = reproduce.load_paper_configs()
    protocol = reproduce.Protocol(paper, "runs/paper", 50, {"violin": 10})
    assert protocol.epochs("table3_sigmoid_skip") == 10
    assert protocol.workdir("table3_sigmoid_skip") == Path("runs/paper_e10/table3_sigmoid_skip")
    assert protocol.workdir("table1_diff") == Path("runs/paper_e50/table1_diff")
    full = reproduce.Protocol(paper, "runs/paper", 300, {})
    assert full.workdir("table2_lrelu") == Path("runs/paper/table2_lrelu")
    every_row = {r for rows in reproduce.TABLE_ROWS.values() for r in rows}
    assert every_row == set(paper.ROWS) and set(paper.PAPER_TABLE5) == set(reproduce.TABLE_ROWS[5])


def test_a_shortened_table_says_so(tmp_path):
    rows = [["a", 10], ["b", 50]]
    title = f"Table 9, {reproduce.caption({10, 50})}."
    reproduce.write_table(tmp_path, "table9", title, ["row", "epochs"], rows)
    text = (tmp_path / "table9.md").read_text()
    assert text.startswith("Table 9, a SHORTENED protocol: 10 or 50 epochs")
    assert "| b | 50 |" in text
    with open(tmp_path / "table9.csv") as f:
        assert list(csv.reader(f)) == [["row", "epochs"], ["a", "10"], ["b", "50"]]
    assert "the paper's protocol" in reproduce.caption({300})


@pytest.mark.parametrize("text", ["violin", "violin=0", "violin=x", "=3"])
def test_bad_corpus_epochs_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        reproduce.preset_epochs(text)


def test_the_committed_results_stay_small():
    import subprocess

    listed = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()  # fmt: skip
    assert listed and sum((ROOT / p).stat().st_size for p in listed) < 40e6  # issue 16's bound
