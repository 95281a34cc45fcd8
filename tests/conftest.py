"""Shared fixtures: real audio rendered from the bundled SoundFont, corpora and runs built
from it, and a JACK server for audio and MIDI. Qt runs offscreen."""

import contextlib
import os
from pathlib import Path

import pytest

from timbre_jax.corpus.build import build_corpus
from timbre_jax.corpus.render import render_preset

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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


@contextlib.contextmanager
def jack_dummy(rate: int):
    """A JACK server on its dummy driver (`rate` Hz, 256-frame periods, 2 inputs and 2 outputs)
    under a name of its own, made the default server of this process and its children
    (JACK_DEFAULT_SERVER), with PortAudio re-initialised to see it. Yields the sounddevice
    output device index. Its own name keeps it clear of any other JACK server on the machine;
    on exit the previous default server is PortAudio's again."""
    import shutil
    import subprocess
    import time

    import sounddevice as sd

    jackd = shutil.which("jackd")
    assert jackd, "jackd is missing: make installs Debian's jackd2 (launch/install_system_deps.sh)"
    name = f"timbre_jax_{os.getpid()}_{rate}"
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    server, device = None, None
    # Real-time scheduling (root on these machines) keeps JACK's period deadlines under load;
    # without the privilege, the server runs without it.
    for mode in (["--realtime", "--realtime-priority", "70"], ["--no-realtime"]):
        server = subprocess.Popen(
            [jackd, "--name", name, *mode, "-d", "dummy", "-r", str(rate), "-p", "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(50):
            time.sleep(0.1)
            if server.poll() is not None:
                break
            sd._terminate()
            sd._initialize()
            jack = [i for i, d in enumerate(sd.query_devices())
                    if "JACK" in sd.query_hostapis(d["hostapi"])["name"]
                    and d["max_output_channels"] > 0]  # fmt: skip
            if jack:
                device = jack[0]
                break
        if device is not None:
            break
        server.terminate()
        server.wait(timeout=10)
    try:
        assert device is not None, f"the JACK dummy server at {rate} Hz did not come up"
        yield device
    finally:
        sd._terminate()  # PortAudio's JACK host must let go before the server stops
        server.terminate()
        server.wait(timeout=10)
        if previous is None:
            del os.environ["JACK_DEFAULT_SERVER"]
        else:
            os.environ["JACK_DEFAULT_SERVER"] = previous
        sd._initialize()


@pytest.fixture(scope="session")
def jack_server():
    """A JACK dummy server at 44.1 kHz for the session (`jack_dummy`): the sounddevice output
    device index."""
    with jack_dummy(44100) as device:
        yield device


@pytest.fixture(params=[48000, 44100], ids=lambda rate: f"{rate}Hz")
def jack_at_rate(request):
    """A JACK dummy server of the test's own at 48 kHz, then 44.1 kHz (`jack_dummy`): the
    sounddevice output device index and the rate in Hz."""
    with jack_dummy(request.param) as device:
        yield device, request.param
