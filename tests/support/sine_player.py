"""A plain sounddevice sine player, the yardstick for late cycles: a Python callback (block
256) in a process of its own with no other work, each callback stamped in a `CallbackTrace`.

Run beside the synth on the same JACK server, it meets the same host stalls in the same
seconds: a late cycle both had is the host's, one only the synth had is the synth's.

Usage: python -m tests.support.sine_player --seconds 60 --trace sine.npz [--rate 48000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tests.support.jack import BLOCK
from timbre_jax.synth.callback_trace import CallbackTrace

CLIENT = b"sine_player"  # its JACK client's name (PortAudio keeps the pointer: it must live)


def play(seconds: float, rate: int) -> CallbackTrace:
    """Plays 440 Hz on the JACK server (JACK_DEFAULT_SERVER) at `rate` Hz for `seconds`, as
    the JACK client CLIENT, and says "playing" once it does; returns the trace."""
    import ctypes

    import sounddevice as sd

    # PortAudio names its JACK client "PortAudio" unless told before it initialises: the
    # server's log then names this player apart from the synth.
    ctypes.CDLL(sd._libname).PaJack_SetClientName(CLIENT)
    sd._terminate()
    sd._initialize()

    device = next(i for i, d in enumerate(sd.query_devices()) if d["max_output_channels"] > 0
                  and "JACK" in sd.query_hostapis(d["hostapi"])["name"])  # fmt: skip
    trace, phase = CallbackTrace(), [0]
    trace.add(0.0, 0.0, 0.0, False)  # loads the compiled `add` before the stream starts ...
    trace.counter[0] = 0  # ... and forgets the call

    def callback(outdata, frames, time_info, status):
        began = time.perf_counter()
        t = phase[0] + np.arange(frames)
        outdata[:, 0] = 0.2 * np.sin(2 * np.pi * 440 * t / rate)
        phase[0] += frames
        trace.add(time_info.currentTime, began, time.perf_counter(), status.output_underflow)

    with sd.OutputStream(samplerate=rate, blocksize=BLOCK, channels=1, dtype="float32",
                         latency="low", callback=callback, device=device):  # fmt: skip
        print("playing", flush=True)
        time.sleep(seconds)
    return trace


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--trace", required=True, help="where to write the callbacks (.npz)")
    parser.add_argument("--rate", type=int, default=48000, help="Hz, the server's")
    args = parser.parse_args(argv)
    play(args.seconds, args.rate).save(args.trace, period=BLOCK / args.rate)


if __name__ == "__main__":
    main()
