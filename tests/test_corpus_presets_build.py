"""The three paper corpora, rendered from TimGM6mb and built in full (about a minute)."""

import pytest

from timbre_jax.corpus.build import build_corpus
from timbre_jax.corpus.render import render_preset
from timbre_jax.corpus.report import corpus_report

PAPER_FRAMES = {  # Section IV of the paper: train / validation / test frames
    "one_octave": (17_000, 1_000, 1_000),
    "five_octave": (79_000, 6_000, 6_000),
    "violin": (91_000, 10_000, 10_000),
}
MIN_CHROMA_ACCURACY = {"one_octave": 0.90, "violin": 0.95}


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PAPER_FRAMES))
def test_preset_frame_counts_and_chroma_accuracy(preset, tmp_path):
    render_preset(preset, tmp_path / "audio", progress=False)
    build_corpus(tmp_path / "audio", tmp_path / "corpus", progress=False)
    report = corpus_report(tmp_path / "corpus")
    for split, paper in zip(("train", "val", "test"), PAPER_FRAMES[preset], strict=True):
        frames = report["splits"][split]["frames"]
        assert abs(frames - paper) <= 0.15 * paper, (split, frames, paper)
    if preset in MIN_CHROMA_ACCURACY:
        assert report["chroma_accuracy"] >= MIN_CHROMA_ACCURACY[preset]
