"""A headless synth (`python -m timbre_jax.synth --headless`) in a child process, played and
read as a musician's tools would: over JACK MIDI (the virtual KEYBOARD) and OSC."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time

from tests.support.jack import KEYBOARD


class Synth:
    """`python -m timbre_jax.synth --headless` in a child process, its lines read in a thread."""

    def __init__(self, model: str, rate: int, *extra: str, keyboard: str | None = KEYBOARD):
        """`keyboard`: the MIDI input to open (None: the synth picks, or watches for one)."""
        port = ["--midi-port", keyboard] if keyboard else []
        command = [sys.executable, "-m", "timbre_jax.synth", "--model", model, "--headless",
                   "--osc", "0", "--rate", str(rate), "--midi-api", "UNIX_JACK", *port,
                   *extra]  # fmt: skip
        self.launched = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1)  # fmt: skip
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> Synth:
        return self

    def __exit__(self, *exc) -> None:
        """Kills the synth if it still runs (a failed run leaves nothing behind)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, seconds: float = 120) -> re.Match:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise RuntimeError(f"the synth never printed {pattern!r}: {self.seen[-20:]}")

    def stop(self) -> tuple[str, dict]:
        """SIGTERM (as Ctrl-C); returns the summary line and the final controls."""
        self.process.terminate()
        final = json.loads(self.wait_for(r"^final (.*)$", 30).group(1))
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)  # every line the synth printed, its last ones too
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return next(line for line in reversed(self.seen) if line.startswith("played")), final
