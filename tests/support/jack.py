"""JACK for the tests and benchmarks that stream audio through a real server without a sound
card (as CI does): the server on its dummy driver, its ports, a recorder (jack_rec, a C
client), a capture stream in this process with each period stamped, a virtual MIDI keyboard.

The server starts under a name of its own (so that it never meets another JACK server on the
machine), with real-time scheduling where the process may use it, and is made the default
server of this process and its children while it runs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

_STARTED = itertools.count()  # servers started by this process: each gets a name of its own
KEYBOARD = "soak_keyboard"  # the virtual JACK MIDI port a test or the soak plays
BLOCK = 256  # frames per period of the dummy server, and of a Capture


@contextlib.contextmanager
def jack_dummy(rate: int, *, sync: bool = False, log: Path | None = None):
    """A JACK server on its dummy driver (`rate` Hz, 256-frame periods, 2 inputs and 2 outputs)
    under a name of its own, made the default server of this process and its children
    (JACK_DEFAULT_SERVER), with PortAudio re-initialised to see it. Yields the sounddevice
    output device index. Its own name keeps it clear of any other JACK server on the machine;
    on exit the previous default server is PortAudio's again.

    `sync` runs the server synchronous (`jackd --sync`): each cycle waits for every client, so
    a client the host wakes late delays the cycle (the dummy driver then drops that time)
    instead of being skipped or read half-written. On a shared 2-core VM even a C client
    (jack_rec alone) misses its period 5-21 times in 10 s; asynchronous (the default, as
    people play), a recording shows those misses as torn or repeated periods.

    `log`: where the server writes what it says (its xruns, `server_xruns`)."""
    import sounddevice as sd  # loads PortAudio, which only playing needs

    jackd = shutil.which("jackd")
    if jackd is None:
        raise RuntimeError("jackd is missing: make installs Debian's jackd2 "
                           "(launch/install_system_deps.sh)")  # fmt: skip
    name = f"timbre_jax_{os.getpid()}_{next(_STARTED)}_{rate}"
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    server, device = None, None
    # Real-time scheduling (root on these machines) keeps JACK's period deadlines under load;
    # without the privilege, the server runs without it.
    driver = ["-d", "dummy", "-r", str(rate), "-p", "256"]
    said = open(log, "w") if log else subprocess.DEVNULL  # closed when the server stops
    for mode in (["--realtime", "--realtime-priority", "70"], ["--no-realtime"]):
        server = subprocess.Popen(
            [jackd, "--name", name, *mode, *(["--sync"] if sync else []), *driver],
            stdout=said, stderr=subprocess.STDOUT,
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
        if device is None:
            raise RuntimeError(f"the JACK dummy server at {rate} Hz did not come up")
        yield device
    finally:
        sd._terminate()  # PortAudio's JACK host must let go before the server stops
        server.terminate()
        server.wait(timeout=10)
        if log:
            said.close()
        if previous is None:
            del os.environ["JACK_DEFAULT_SERVER"]
        else:
            os.environ["JACK_DEFAULT_SERVER"] = previous
        sd._initialize()


def server_xruns(text: str) -> Counter:
    """The xruns a JACK server's log tells of: {client: cycles it did not finish in time} and
    "driver": cycles the server itself was woken late for."""
    late = Counter(re.findall(r"JackEngine::XRun: client = (.+?) was not finished", text))
    late["driver"] = len(re.findall(r"JackTimedDriver::Process XRun", text))
    return late


def ports(*filters: str) -> list[str]:
    """`jack_lsp FILTERS`: port names (with -c, a port and then the ports connected to it)."""
    out = subprocess.run(["jack_lsp", *filters], capture_output=True, text=True, check=True,
                         timeout=10).stdout  # fmt: skip
    return [line.strip() for line in out.splitlines() if line.strip()]


def synth_output() -> str:
    """The first output port of this machine's PortAudio client (the synth's)."""
    return next(p for p in ports() if p.startswith("PortAudio") and p.endswith(":out_0"))


def start_recorder(path: Path, sources: list[str], seconds: float) -> subprocess.Popen:
    """jack_rec recording `sources` into `path` (a 32-bit WAV) for `seconds`, once connected to
    them; its output goes to `path`.log. Raises AssertionError if it is not within 10 s."""
    log = path.with_suffix(".log")
    with open(log, "w") as said:
        recorder = subprocess.Popen(
            ["jack_rec", "-f", str(path), "-d", str(seconds), "-b", "32", *sources],
            stdout=said, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.time() + 10
    try:
        while not any(p.startswith("jackrec:") for p in ports("-c", sources[-1])):
            assert time.time() < deadline and recorder.poll() is None
            time.sleep(0.1)
    except (AssertionError, subprocess.TimeoutExpired) as err:
        recorder.kill()
        raise AssertionError(f"jack_rec did not connect (exit {recorder.wait()}): "
                             f"{log.read_text()[-500:]}") from err  # fmt: skip
    return recorder


@contextlib.contextmanager
def jack_recording(path: Path, sources: list[str], seconds: float):
    """Records `sources` of the JACK server into `path` (a 32-bit WAV) with jack_rec, from
    before the body runs, for `seconds`. The recorder is started a second time if it does not
    connect (once in about 15 runs jack_rec exited at once and `jack_lsp` never returned)."""
    path = Path(path)
    try:
        recorder = start_recorder(path, sources, seconds)
    except AssertionError as err:
        warnings.warn(f"starting jack_rec again: {err}", stacklevel=1)
        recorder = start_recorder(path, sources, seconds)
    try:
        yield
        assert recorder.wait(timeout=seconds + 30) == 0, path.with_suffix(".log").read_text()
    finally:
        if recorder.poll() is None:
            recorder.kill()


def open_keyboard():
    """The virtual JACK MIDI keyboard: an output port of this process (mido), named KEYBOARD."""
    import mido

    return mido.Backend("mido.backends.rtmidi/UNIX_JACK").open_output(KEYBOARD, virtual=True)


class Capture:
    """Records the synth's first JACK output port in this process; each period stamped with
    the host clock (`time.perf_counter`)."""

    def __init__(self, rate: int):
        import sounddevice as sd

        self.rate, self.blocks, self.stamps, self.overflows = rate, [], [], 0
        self.stream = sd.InputStream(samplerate=rate, blocksize=BLOCK, channels=1, latency="high",
                                     dtype="float32", callback=self._callback)  # fmt: skip

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc) -> None:
        self.stream.close()  # before the server goes: a client left behind can crash later

    def _callback(self, indata, frames, time_info, status) -> None:
        self.overflows += bool(status.input_overflow)
        self.stamps.append(time.perf_counter())
        self.blocks.append(indata[:, 0].copy())

    def start(self) -> None:
        """Starts recording the synth's first output port (and nothing else)."""
        self.stream.start()
        mine = next(p for p in ports() if p.startswith("PortAudio") and ":in_" in p)
        for p in ports("-c", mine)[1:]:  # PortAudio connected it to the capture ports
            subprocess.run(["jack_disconnect", p, mine], check=True)
        subprocess.run(["jack_connect", synth_output(), mine], check=True)

    def audio(self) -> np.ndarray:
        return np.concatenate(self.blocks)

    def sample_at(self, seconds: float) -> int:
        """The recorded sample whose period was stamped at or after host time `seconds`."""
        return int(np.searchsorted(np.array(self.stamps), seconds)) * BLOCK

    def time_of(self, sample: int) -> float:
        return self.stamps[sample // BLOCK] + (sample % BLOCK) / self.rate
