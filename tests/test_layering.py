"""Each module imports in a clean interpreter without what its layer must not use."""

import subprocess
import sys

import pytest

SIGNAL_AND_CORPUS = [
    "timbre_jax.errors",
    "timbre_jax.audio_io",
    "timbre_jax.spectral",
    "timbre_jax.chroma",
    "timbre_jax.corpus.presets",
    "timbre_jax.corpus.render",
    "timbre_jax.corpus.analysis",
    "timbre_jax.corpus.build",
    "timbre_jax.corpus.report",
    "timbre_jax.corpus.__main__",
]
BELOW_THE_PANEL = [
    "timbre_jax.models",
    "timbre_jax.dataset",
    "timbre_jax.distributed",
    "timbre_jax.checkpoint",
    "timbre_jax.train",
    "timbre_jax.embed",
    "timbre_jax.mesh",
    "timbre_jax.render",
    "timbre_jax.synth.engine",
    "timbre_jax.synth.phase",
    "timbre_jax.synth.ringbuffer",
    "timbre_jax.synth.audio_out",
    "timbre_jax.synth.midi",
]
NEVER = ["torch", "tensorflow"]
NOT_IN_SIGNAL_OR_CORPUS = ["flax", "optax", "orbax"]
QT = ["PySide6", "PyQt5", "PyQt6", "pyqtgraph"]


def imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in out.stdout.split()}


@pytest.mark.parametrize("module", SIGNAL_AND_CORPUS)
def test_signal_and_corpus_layers_stay_below_training_and_qt(module):
    loaded = imported_after(module)
    assert not loaded & set(NEVER + NOT_IN_SIGNAL_OR_CORPUS + QT)


@pytest.mark.parametrize("module", BELOW_THE_PANEL)
def test_only_the_panel_imports_qt(module):
    assert not imported_after(module) & set(NEVER + QT)
