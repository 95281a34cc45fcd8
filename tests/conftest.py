"""Shared fixtures: real audio rendered from the bundled SoundFont, corpora and runs built
from it, and a JACK server for audio and MIDI. Qt runs offscreen."""

import hashlib
import os
import platform
from importlib.metadata import version
from pathlib import Path

# Numba's on-disk cache (librosa's functions, RTPGHI) is not safe for two processes compiling
# the same function at once: two test workers did, and every later load of the function
# crashed (a segfault in librosa's localmax). Each worker keeps its own cache, set before
# anything imports numba.
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    str(Path(__file__).resolve().parents[1] / ".cache" / "numba"
        / os.environ.get("PYTEST_XDIST_WORKER", "main")),
)  # fmt: skip
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _compile_cache_dir() -> Path:
    """`.cache/jax/<key>`, the key naming this CPU's instruction set and the installed jaxlib,
    so that an executable compiled on one machine is never loaded on another (an AVX-512 one on
    an AMD EPYC would be illegal)."""
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else platform.processor()
    flags = next((line for line in text.splitlines() if line.startswith("flags")), text)
    key = hashlib.sha1(f"{flags} {version('jaxlib')}".encode()).hexdigest()[:12]
    return Path(__file__).resolve().parents[1] / ".cache" / "jax" / key


# The test processes, and the commands they start, share compiled XLA executables: each xdist
# worker would otherwise compile the same models again. Set before anything imports jax.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_compile_cache_dir()))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import pytest  # noqa: E402

from tests.support.jack import jack_dummy  # noqa: E402
from timbre_jax.corpus.build import build_corpus  # noqa: E402
from timbre_jax.corpus.render import render_preset  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def user_models(tmp_path_factory) -> Path:
    """The user's models folder (TIMBRE_JAX_MODELS), empty and apart from the real one, so that
    no test reads or writes models of the machine's user."""
    folder = tmp_path_factory.mktemp("user_models")
    os.environ["TIMBRE_JAX_MODELS"] = str(folder)
    return folder


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
def octave_corpus(tmp_path_factory) -> Path:
    """The `tiny_octaves` preset (C and G in three octaves) rendered and built."""
    audio = tmp_path_factory.mktemp("audio") / "tiny_octaves"
    render_preset("tiny_octaves", audio, progress=False)
    corpus = tmp_path_factory.mktemp("corpus") / "tiny_octaves"
    build_corpus(audio, corpus, progress=False)
    return corpus


@pytest.fixture(scope="session")
def trained_run(tiny_corpus, tmp_path_factory) -> tuple[Path, dict]:
    """The smoke config (a 2-D sigmoid model with chroma skip, 2 epochs) trained on the tiny
    corpus: its workdir and what `train_and_evaluate` returned. The one run most tests share."""
    from tests.helpers import smoke
    from timbre_jax.training.loop import train_and_evaluate

    workdir = tmp_path_factory.mktemp("runs") / "skip"
    return workdir, train_and_evaluate(smoke(tiny_corpus), workdir)


@pytest.fixture(scope="session")
def skip_run(trained_run) -> Path:
    """The workdir of `trained_run`."""
    return trained_run[0]


@pytest.fixture(scope="session")
def jack_server():
    """A JACK dummy server at 44.1 kHz for the session (`jack_dummy`): the sounddevice output
    device index."""
    with jack_dummy(44100) as device:
        yield device


@pytest.fixture(params=[48000, 44100], ids=lambda rate: f"{rate}Hz")
def jack_at_rate(request):
    """A synchronous JACK dummy server of the test's own at 48 kHz, then 44.1 kHz
    (`jack_dummy(rate, sync=True)`): the sounddevice output device index and the rate in Hz.
    Synchronous, a recording holds every period the stream played, whole and in order, also
    when the host wakes a client late."""
    with jack_dummy(request.param, sync=True) as device:
        yield device, request.param
