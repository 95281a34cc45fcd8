import numpy as np
import pytest

from tests.helpers import assert_drawn, initialised_run
from timbre_jax import embed
from timbre_jax.analysis.embedding import span_coverage
from timbre_jax.analysis.plots import embed_run, paper_grid
from timbre_jax.errors import ParameterError
from timbre_jax.evaluation.pitch_audit import audit_run
from timbre_jax.model.run import load_run


def test_embed_writes_latents_and_a_plot(skip_run, tiny_corpus):
    path, coverage = embed_run(load_run(skip_run), "train")
    assert_drawn(path)
    data = np.load(skip_run / "embedding_train.npz", allow_pickle=False)
    cells = {(int(x * 20), int(y * 20)) for x, y in data["latents"]}  # the sigmoid span's 20 x 20
    assert coverage == len(cells) / 400
    frames = np.load(tiny_corpus / "train" / "frames.npy")
    assert data["latents"].shape == (len(frames), 2)
    assert np.all((data["latents"] > 0) & (data["latents"] < 1))  # sigmoid bottleneck
    np.testing.assert_array_equal(
        data["note"], np.load(tiny_corpus / "train" / "chroma.npy").argmax(1)
    )
    assert set(np.unique(data["pitch"])) <= {60, 64, 67}


def test_span_coverage_counts_occupied_cells():
    corners = np.array([[0.01, 0.01], [0.99, 0.99], [0.02, 0.03]])
    assert span_coverage(corners, np.zeros(2), np.ones(2), cells=2) == 0.5
    grid = (np.stack(np.meshgrid(np.arange(10), np.arange(10)), -1).reshape(-1, 2) + 0.5) / 10
    assert span_coverage(grid, np.zeros(2), np.ones(2), cells=10) == 1.0
    assert span_coverage(grid * 0.5, np.zeros(2), np.ones(2), cells=10) == 0.25


@pytest.mark.slow
def test_three_dimensional_embedding_plots_pairwise_panels(tiny_corpus, tmp_path):
    run = initialised_run(tiny_corpus, tmp_path, model__latent_dim=3, model__augment="diff")
    path, _ = embed_run(run, "val")
    assert np.load(tmp_path / "embedding_val.npz")["latents"].shape[1] == 3
    assert path == tmp_path / "plots" / "embedding_val.png"
    assert_drawn(path)
    with pytest.raises(ParameterError, match="a pad grid needs a 2-D model"):
        audit_run(run, grid=2)


@pytest.mark.slow
def test_paper_grid_places_runs_by_bottleneck_and_skip(skip_run, tiny_corpus, tmp_path):
    runs = [load_run(skip_run)]
    for bottleneck, skip in (("leaky_relu", False), ("leaky_relu", True), ("sigmoid", False)):
        folder = tmp_path / f"{bottleneck}_{skip}"
        cell = {"model__bottleneck": bottleneck, "model__chroma_skip": skip}
        runs.append(initialised_run(tiny_corpus, folder, **cell))
    assert_drawn(paper_grid(runs, tmp_path / "figure2.png"))
    with pytest.raises(ParameterError, match="share"):
        paper_grid([runs[0]] * 2, tmp_path / "x.png")


def test_the_grid_command_draws_the_runs_it_names(skip_run, tmp_path):
    out = tmp_path / "figure.png"
    assert embed.main(["--grid", str(skip_run), "--out", str(out)]) == 0
    assert_drawn(out)


def test_cli_errors(tmp_path, capsys):
    assert embed.main([]) == 2
    assert embed.main(["--workdir", str(tmp_path)]) == 2
    assert "no best checkpoint" in capsys.readouterr().err
