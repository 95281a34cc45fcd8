"""Every row of configs/paper.py builds the model its table describes and takes a training step;
configs/notes.py changes only what it says."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import paper
from timbre_jax.model.autoencoder import N_BINS
from timbre_jax.training.loop import build_model
from timbre_jax.training.throughput import SyntheticSteps

ENCODER_INPUT = {"none": N_BINS, "diff": 2 * N_BINS, "chroma": N_BINS + 12}


def test_rows_cover_tables_one_to_four():
    tables = {name.split("_")[0] for name in paper.ROWS}
    assert tables == {"table1", "table2", "table3", "table4", "table5"}
    assert sum(name.startswith(("table2", "table3", "table4")) for name in paper.ROWS) == 12
    assert {paper.get_config(r).model.augment for r in paper.ROWS if r.startswith("table1")} == {
        "none", "diff", "chroma"}  # fmt: skip


@pytest.mark.parametrize("row", sorted(paper.ROWS))
def test_each_row_builds_the_model_of_its_table(row):
    corpus, latent_dim, bottleneck, skip, augment = paper.ROWS[row]
    model = build_model(paper.get_config(row))
    example = (jnp.zeros((1, N_BINS)), jnp.zeros((1, 12)), jnp.zeros((1, N_BINS)))
    params = jax.eval_shape(model.init, jax.random.key(0), *example)["params"]
    assert params["encoder"]["Dense_0"]["kernel"].shape[0] == ENCODER_INPUT[augment]
    assert params["encoder"]["bottleneck"]["kernel"].shape[1] == latent_dim
    assert params["decoder"]["Dense_0"]["kernel"].shape[0] == latent_dim + 12 * skip
    assert params["decoder"]["output"]["kernel"].shape[1] == N_BINS
    assert model.bottleneck == bottleneck


@pytest.mark.slow
@pytest.mark.parametrize("row", sorted(paper.ROWS))
def test_each_row_takes_a_training_step(row):
    steps = SyntheticSteps(paper.get_config(row), frames=400)  # compiles and takes 10 steps
    before = [np.array(a) for a in jax.tree.leaves(steps.state.params)]
    steps.run(1)
    after = [np.asarray(a) for a in jax.tree.leaves(steps.state.params)]
    assert all(np.all(np.isfinite(a)) for a in after)
    assert all(np.any(a != b) for a, b in zip(after, before, strict=True))


def test_note_rows_differ_from_the_recommended_model_only_in_corpus_and_conditioning():
    from configs import default, notes

    base = default.get_config().to_dict()
    for row in notes.ROWS:
        config = notes.get_config(row).to_dict()
        corpus, conditioning = row.rsplit("_", 1)
        assert config["corpus"] == f"data/corpora/{corpus}"
        assert config["model"] == base["model"] | {"conditioning": conditioning}
        assert config["train"] == base["train"]
