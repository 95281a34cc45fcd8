"""Ctrl-C in the long commands: one line, `interrupted`, exit status 130, no traceback, and
no output left half-written. (Training's resume after Ctrl-C: tests/test_train.py.)"""

import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest


def ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Command:
    """A command run in a child process, its output (stdout and stderr together) read as it
    comes. It starts with SIGINT ignored, as a child of a test runner's worker or of a shell
    script's background job does: Ctrl-C must stop it all the same."""

    def __init__(self, argv: list[str], cwd):
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        self.process = subprocess.Popen([sys.executable, "-m", *argv], cwd=cwd, text=True,
                                        preexec_fn=ignoring_sigint, **pipes)  # fmt: skip
        self.err = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while char := self.process.stdout.read(1):
            self.err += char

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.err:
            assert self.process.poll() is None, f"ended before {text!r}: {self.err[-2000:]}"
            assert time.monotonic() < deadline, f"no {text!r} in {timeout} s: {self.err[-2000:]}"
            time.sleep(0.05)

    def interrupt(self) -> tuple[int, str]:
        """Sends SIGINT, as Ctrl-C does; returns the exit status and the output."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return code, self.err


def assert_one_line(code: int, err: str) -> None:
    assert code == 130 and "Traceback" not in err, err[-3000:]
    assert err.replace("\r", "\n").strip().splitlines()[-1] == "interrupted", err[-500:]


@pytest.mark.slow
def test_ctrl_c_in_a_corpus_build_during_pyin(tiny_audio, tmp_path):
    """pYIN runs in numba's compiled code, where a signal once crashed the process: the
    interrupt is taken between clips, and no corpus folder is left."""
    clips = tmp_path / "recordings"
    clips.mkdir()
    for k in range(60):  # about 0.3 s of pYIN each: the build is well under way when asked
        shutil.copy(tiny_audio / "train" / "program000.wav", clips / f"take{k:02d}.wav")
    out = tmp_path / "corpus"
    build = Command(["timbre_jax.corpus", "build", "--audio", str(clips), "--out", str(out),
                     "--pitch", "pyin"], cwd=tmp_path)  # fmt: skip
    build.wait_for("/60 [")  # the progress bar: clips are being read
    time.sleep(1.0)  # inside some clip's pYIN
    assert_one_line(*build.interrupt())
    assert not out.exists() and not list(tmp_path.glob("corpus*"))


@pytest.mark.slow
def test_ctrl_c_in_a_long_render(tmp_path):
    out = tmp_path / "long.wav"
    render = Command(["timbre_jax.render", "--model", "one_octave", "--note", "C",
                      "--seconds", "1200", "--out", str(out)], cwd=tmp_path)  # fmt: skip
    render.wait_for("model one_octave: shipped")  # loading it, then compiling and rendering
    time.sleep(2.0)  # the render takes about 30 s
    assert_one_line(*render.interrupt())
    assert not list(tmp_path.iterdir())  # neither the WAV nor a partial file
