"""A JACK server on its dummy driver, for the tests and benchmarks that stream audio through
a real server without a sound card (as CI does).

Started under a name of its own (so that it never meets another JACK server on the machine),
with real-time scheduling where the process may use it, and made the default server of this
process and its children while it runs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import time

_STARTED = itertools.count()  # servers started by this process: each gets a name of its own


@contextlib.contextmanager
def jack_dummy(rate: int, *, sync: bool = False):
    """A JACK server on its dummy driver (`rate` Hz, 256-frame periods, 2 inputs and 2 outputs)
    under a name of its own, made the default server of this process and its children
    (JACK_DEFAULT_SERVER), with PortAudio re-initialised to see it. Yields the sounddevice
    output device index. Its own name keeps it clear of any other JACK server on the machine;
    on exit the previous default server is PortAudio's again.

    `sync` runs the server synchronous (`jackd --sync`): each cycle waits for every client, so
    a client the host wakes late delays the cycle (the dummy driver then drops that time)
    instead of being skipped or read half-written. On a shared 2-core VM even a C client
    (jack_rec alone) misses its period 5-21 times in 10 s; asynchronous (the default, as
    people play), a recording shows those misses as torn or repeated periods."""
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
    for mode in (["--realtime", "--realtime-priority", "70"], ["--no-realtime"]):
        server = subprocess.Popen(
            [jackd, "--name", name, *mode, *(["--sync"] if sync else []), *driver],
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
        if device is None:
            raise RuntimeError(f"the JACK dummy server at {rate} Hz did not come up")
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
