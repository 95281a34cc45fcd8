"""Every row of configs/paper.py trains (two short epochs on the tiny corpus); configs/notes.py
changes only what it says."""

import pytest

from configs import paper
from timbre_jax.training.loop import train_and_evaluate


def test_rows_cover_tables_one_to_four():
    tables = {name.split("_")[0] for name in paper.ROWS}
    assert tables == {"table1", "table2", "table3", "table4", "table5"}
    assert sum(name.startswith(("table2", "table3", "table4")) for name in paper.ROWS) == 12
    assert {paper.get_config(r).model.augment for r in paper.ROWS if r.startswith("table1")} == {
        "none", "diff", "chroma"}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("row", sorted(paper.ROWS))
def test_row_trains(row, tiny_corpus, tmp_path):
    config = paper.get_config(row)
    config.corpus = str(tiny_corpus)
    config.train.epochs, config.train.batch_size = 2, 40
    final = train_and_evaluate(config, tmp_path / row)
    assert 0 < final["test_mse_final"] < 1


def test_note_rows_differ_from_the_recommended_model_only_in_corpus_and_conditioning():
    from configs import default, notes

    base = default.get_config().to_dict()
    for row in notes.ROWS:
        config = notes.get_config(row).to_dict()
        corpus, conditioning = row.rsplit("_", 1)
        assert config["corpus"] == f"data/corpora/{corpus}"
        assert config["model"] == base["model"] | {"conditioning": conditioning}
        assert config["train"] == base["train"]
