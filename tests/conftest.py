"""Shared fixtures: real audio rendered from the bundled SoundFont, and corpora built from it."""

from pathlib import Path

import pytest

from timbre_jax.corpus.build import build_corpus
from timbre_jax.corpus.render import render_preset


@pytest.fixture(scope="session")
def tiny_audio(tmp_path_factory) -> Path:
    """The `tiny` preset rendered from TimGM6mb: 3 clips (train, val, test) of 1.2 s."""
    out = tmp_path_factory.mktemp("audio") / "tiny"
    render_preset("tiny", out, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_corpus(tiny_audio, tmp_path_factory) -> Path:
    """A corpus built from `tiny_audio` with the default chroma method."""
    out = tmp_path_factory.mktemp("corpus") / "tiny"
    build_corpus(tiny_audio, out, progress=False)
    return out


@pytest.fixture(scope="session")
def skip_run(tiny_corpus, tmp_path_factory) -> Path:
    """A 2-D sigmoid model with chroma skip, trained for 3 epochs on the tiny corpus."""
    from tests.helpers import smoke
    from timbre_jax.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("runs") / "skip"
    train_and_evaluate(smoke(tiny_corpus, train__epochs=3), workdir)
    return workdir
