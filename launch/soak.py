"""Soak: play shipped models live, as a musician would, and count what goes wrong.

For each model: starts a JACK server on its dummy driver (`--rate`, 256-frame periods), a JACK
MIDI keyboard (a virtual port of this process) and `python -m timbre_jax.synth --headless
--osc 0` listening to both; records the synth's JACK output sample by sample in this process
(a PortAudio input stream, each period stamped with the host clock). Then:
  1. event-to-sound latency: `--probes` single notes from silence over MIDI and over OSC; the
     time from sending to the first non-zero recorded sample (+- one 5.3 ms period);
  2. the soak, recorded by jack_rec (a C client): `--events` random events over `--seconds`
     (notes, chords, velocities, sustain, the pitch wheel, the mod wheel, latents by MIDI CC
     and by OSC, gain, malformed OSC; the phase method stays the model's, as in the baseline),
     half MIDI and half OSC; with `--mpe` the synth plays an MPE lower zone and the MIDI notes
     go to member channels, each with its own pitch wheel, pressure and CC 74; then a last
     value for every control and all notes off;
     Beside it, through the soak's window, a plain sounddevice sine player in a process of its
     own (`tests.support.sine_player`) plays on the same server: it meets the same host
     stalls in the same seconds, so a late cycle both clients had is the host's;
  3. a baseline: the same model holding an 8-note chord for `--baseline-seconds` with no
     events (its hop-time p99 is the yardstick).
The server's log counts the cycles each client was late for (JACK xruns) in the soak's window.
`--python-client` keeps a second Python client on the server through the soak (a PortAudio
input stream in this process, as a performer's own tools often are).
Prints launch-to-ready, latencies (median, max), ring underruns, PortAudio underflows, the
server's xruns by client, what the callbacks' timestamps say about each late cycle, the
synth's in the soak (its `--trace`) and the sine player's (`callback_trace.lateness`: whose
lateness preceded each underflow), how many of the synth's underflows came within two periods
of one of the sine player's, gaps in the recording (runs of exact zeros with sound on both
edges), stuck notes, whether the final controls equal the last values sent, and the hop-time
p99 against the baseline's.

Usage: python launch/soak.py [--models violin keys] [--seconds 60] [--events 10000]
                             [--probes 10] [--baseline-seconds 20] [--rate 48000] [--mpe]
                             [--python-client]
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from timbre_jax.analysis.embedding import latent_span
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.model.run import load_run, run_folder
from timbre_jax.synth.callback_trace import describe, lateness

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the JACK harness
from tests.support.headless import Synth  # noqa: E402
from tests.support.jack import (  # noqa: E402
    BLOCK,
    Capture,
    jack_dummy,
    jack_recording,
    open_keyboard,
    server_xruns,
    synth_output,
)

EDGE = 1e-3  # a gap has sound at least this loud on both sides (a release fades to ~0)


def gaps(audio: np.ndarray, minimum: int = 16) -> list[tuple[int, int]]:
    """(start, length) of runs of >= `minimum` exact zeros with sound (> EDGE) on both sides."""
    zero = np.concatenate([[False], audio == 0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(int)))
    runs = [(s, e - s) for s, e in zip(edges[::2], edges[1::2], strict=True)]
    return [(s, n) for s, n in runs if n >= minimum and 0 < s and s + n < len(audio)
            and abs(audio[s - 1]) > EDGE and abs(audio[s + n]) > EDGE]  # fmt: skip


class Player:
    """Sends MIDI (the JACK keyboard) and OSC (UDP) and remembers the last value sent."""

    def __init__(self, keyboard, osc_port: int, low, high, pitches, seed: int = 0,
                 mpe: bool = False):  # fmt: skip
        from pythonosc.udp_client import SimpleUDPClient

        self.keyboard, self.osc = keyboard, SimpleUDPClient("127.0.0.1", osc_port)
        self.low, self.high, self.pitches = np.asarray(low), np.asarray(high), list(pitches)
        self.rng = np.random.default_rng(seed)
        self.held: set[int] = set()
        self.last: dict[str, object] = {"bend": 0.0, "vibrato": 0.0}
        self.mpe = mpe
        self.channel_of: dict[int, int] = {}  # MPE: the member channel (1-15) each note is on

    def midi(self, kind: str, **fields) -> None:
        import mido

        self.keyboard.send(mido.Message(kind, **fields))

    def note(self, pitch: int, velocity: int, by_osc: bool) -> None:
        channel = self.channel_of.pop(pitch, 0)
        if by_osc:
            self.osc.send_message("/note", [pitch, velocity])
        elif velocity:
            channel = self.member_channel() if self.mpe else 0
            self.midi("note_on", note=pitch, velocity=velocity, channel=channel)
            if self.mpe:
                self.channel_of[pitch] = channel
        else:
            self.midi("note_off", note=pitch, channel=channel)
        (self.held.add if velocity else self.held.discard)(pitch)

    def member_channel(self) -> int:
        """A free MPE member channel (2-16; mido's 1-15), else the oldest note's: a new note on
        a channel ends the note it had, there as in the synth."""
        free = sorted(set(range(1, 16)) - set(self.channel_of.values()))
        if free:
            return free[0]
        oldest = next(iter(self.channel_of))
        self.held.discard(oldest)
        return self.channel_of.pop(oldest)

    def expression(self) -> None:
        """A held MPE note's own pitch wheel (mostly within a few semitones, now and then to
        the +-48 ends), pressure or CC 74; else the pitch wheel or the mod wheel."""
        r = self.rng.uniform()
        if self.channel_of and r < 0.7:
            channel = int(self.rng.choice(list(self.channel_of.values())))
            if r < 0.3:
                reach = 8191 if self.rng.uniform() < 0.05 else 700
                self.midi("pitchwheel", pitch=int(self.rng.integers(-reach, reach + 1)),
                          channel=channel)  # fmt: skip
            elif r < 0.5:
                self.midi("aftertouch", value=int(self.rng.integers(128)), channel=channel)
            else:
                self.midi("control_change", control=74, value=int(self.rng.integers(128)),
                          channel=channel)  # fmt: skip
        elif r < 0.85:
            self.wheel(int(self.rng.integers(-8192, 8192)))
        else:
            self.mod_wheel(int(self.rng.integers(128)))

    def wheel(self, pitch: int) -> None:
        """The (manager channel's) pitch wheel: +-2 semitones, the synth's default."""
        self.midi("pitchwheel", pitch=pitch)
        self.last["bend"] = pitch / 8192 * 2.0

    def mod_wheel(self, value: int) -> None:
        """Vibrato up to 50 cents, the synth's default."""
        self.midi("control_change", control=1, value=value)
        self.last["vibrato"] = value / 127 * 50.0

    def axis(self, axis: int, by_osc: bool) -> None:
        if by_osc:
            value = float(self.rng.uniform(0, 1))
            self.osc.send_message(f"/z/{axis}", value)
        else:
            cc = int(self.rng.integers(0, 128))
            self.midi("control_change", control=20 + axis, value=cc)
            value = cc / 127
        self.last[f"z{axis}"] = self.low[axis] + value * (self.high[axis] - self.low[axis])

    def random_event(self) -> None:
        by_osc, r = bool(self.rng.integers(2)), self.rng.uniform()
        if r < 0.35:
            pitch = int(self.rng.choice(self.pitches))
            on = pitch not in self.held and len(self.held) < 8
            self.note(pitch, int(self.rng.integers(1, 128)) if on else 0, by_osc)
        elif r < 0.42:
            for pitch in self.rng.choice(self.pitches, 3, replace=False):
                self.note(int(pitch), int(self.rng.integers(40, 128)), by_osc)
        elif r < 0.45:
            down = bool(self.rng.integers(2))
            if by_osc:
                self.osc.send_message("/sustain", int(down))
            else:
                self.midi("control_change", control=64, value=127 * down)
        elif r < 0.7:
            self.axis(int(self.rng.integers(len(self.low))), by_osc)
        elif r < 0.85:
            self.expression()
        elif r < 0.95:
            gain = round(float(self.rng.uniform(0.3, 1.0)), 3)
            self.osc.send_message("/gain", gain)
            self.last["gain"] = gain
        else:  # malformed: bad values, unknown addresses, not OSC at all
            bad = [("/z/0", 3.0), ("/note/on", [61.5, 90]), ("/nowhere", 1), ("/gain", "loud")]
            address, value = bad[int(self.rng.integers(len(bad)))]
            self.osc.send_message(address, value)

    def finish(self) -> None:
        """A last value for every control (alternating transports), then all notes off; after
        a pause, so that no earlier event is still on its way (JACK delivers MIDI once a
        period, UDP at once: events sent within a few ms over the two have no order)."""
        time.sleep(0.2)
        for axis in range(len(self.low)):
            self.axis(axis, by_osc=bool(axis % 2))
        self.osc.send_message("/gain", 0.7)
        self.last["gain"] = 0.7
        self.wheel(int(self.rng.integers(-8192, 8192)))
        self.mod_wheel(int(self.rng.integers(128)))
        self.midi("control_change", control=64, value=0)
        self.midi("control_change", control=123, value=0)
        self.osc.send_message("/all_notes_off", [])
        for channel in sorted(set(self.channel_of.values())):  # MPE: CC 123 of each member
            self.midi("control_change", control=123, value=0, channel=channel)
        self.held.clear()
        self.channel_of.clear()


def probe_latency(player: Player, capture: Capture, pitch: int, by_osc: bool) -> float:
    """Seconds from sending a note (from silence) to its first recorded sample."""
    sent = time.perf_counter()
    player.note(pitch, 100, by_osc)
    time.sleep(0.3)
    player.note(pitch, 0, by_osc)
    time.sleep(0.6)  # the release and the overlap-add ring out
    audio = capture.audio()
    start = capture.sample_at(sent)
    first = start + int(np.flatnonzero(audio[start:])[0])
    return capture.time_of(first) - sent


class ServerLog:
    """The JACK server's log, read a window at a time."""

    def __init__(self, path: Path):
        self.path, self.read = path, 0

    def xruns(self) -> dict:
        """The server's xruns by client since the last call (`server_xruns`)."""
        text = self.path.read_text(errors="replace")
        window, self.read = text[self.read :], len(text)
        return dict(server_xruns(window))


@contextlib.contextmanager
def python_client(on: bool):
    """A second Python client on the server while the body runs (a PortAudio input stream in
    this process, a callback each period), or nothing."""
    if not on:
        yield
        return
    import sounddevice as sd

    with sd.InputStream(samplerate=None, blocksize=BLOCK, channels=1, dtype="float32",
                        callback=lambda indata, frames, time_info, status: None):  # fmt: skip
        yield


def soak_model(model: str, args, folder: Path) -> dict:
    run = load_run(run_folder(model=model))
    low, high = latent_span(run)
    pitches = [p for p in range(36, 97) if run.plays(p)]
    result = {"model": model}
    log = ServerLog(folder / f"jackd_{model}.log")
    trace = folder / f"trace_{model}.npz"
    extra = ["--trace", str(trace), *(["--mpe"] if args.mpe else [])]
    with (jack_dummy(args.rate, log=log.path), open_keyboard() as keyboard,
          Synth(model, args.rate, *extra) as synth):  # fmt: skip
        port = int(synth.wait_for(r"OSC on udp://[\d.]+:(\d+)").group(1))
        result["ready_s"] = float(synth.wait_for(r"^ready in ([\d.]+) s").group(1))
        result["ready_line"] = synth.seen[-1]
        result["ready_wall_s"] = time.perf_counter() - synth.launched
        player = Player(keyboard, port, low, high, pitches, seed=args.seed, mpe=args.mpe)
        with Capture(args.rate) as capture:  # closed before the soak: a Python client late
            capture.start()  # for the GIL would make JACK xruns of its own
            time.sleep(0.5)
            for by_osc, name in ((False, "midi"), (True, "osc")):
                times = [probe_latency(player, capture, pitches[k % len(pitches)], by_osc)
                         for k in range(args.probes)]  # fmt: skip
                result[f"{name}_latency_ms"] = (1e3 * float(np.median(times)), 1e3 * max(times))
        result["capture_overflows"] = capture.overflows
        wav = folder / "soak.wav"
        log.xruns()  # the soak's window starts here
        sine = folder / "trace_sine.npz"
        with (python_client(args.python_client), sine_beside(args.rate, args.seconds + 5, sine),
              jack_recording(wav, [synth_output()], args.seconds + 2.5)):  # fmt: skip
            started = time.perf_counter()
            for k in range(args.events):
                time.sleep(max(0.0, started + k * args.seconds / args.events
                               - time.perf_counter()))  # fmt: skip
                player.random_event()
            player.finish()
            window = (started, time.perf_counter())
        result["xruns"] = log.xruns()
        recording = sf.read(wav, dtype="float32")[0]
        summary, final = synth.stop()
        result["summary"] = summary
        ours, beside = traced_window(trace, *window), traced_window(sine, *window)
        result["callbacks"], result["sine_callbacks"] = lateness(**ours), lateness(**beside)
        result["shared_underflows"] = shared_underflows(ours, beside)
        result["problems"] = [line for line in synth.seen if " at " in line
                              and ("underflows" in line or "underruns" in line)]  # fmt: skip
        result["gaps"] = gaps(recording)
        result["stuck"] = len(final["notes"]) + final["sounding"]
        expected = [player.last[f"z{i}"] for i in range(len(low))]
        phase = player.last.get("phase", final["phase"])
        result["final"], result["last_sent"] = final, {**player.last, "latent": expected}
        result["final_ok"] = bool(np.allclose(final["latent"], expected, atol=1e-6)
                                  and np.isclose(final["gain"], player.last["gain"])
                                  and np.isclose(final["bend"], player.last["bend"])
                                  and np.isclose(final["vibrato"], player.last["vibrato"])
                                  and final["phase"] == phase)  # fmt: skip
        result["osc_bad"] = [line for line in synth.seen if line.startswith("OSC /")]
        result["p99_ms"] = p99(summary)
        if args.baseline_seconds:
            result["baseline_p99_ms"], result["baseline_summary"] = baseline(model, pitches, args)
    return result


def p99(summary: str) -> float:
    return float(re.search(r"([\d.]+) p99", summary).group(1))


def baseline(model: str, pitches, args) -> tuple[float, str]:
    """The hop-time p99 of the synth holding 8 notes, no events (same server)."""
    from pythonosc.udp_client import SimpleUDPClient

    with Synth(model, args.rate) as synth:
        port = int(synth.wait_for(r"OSC on udp://[\d.]+:(\d+)").group(1))
        synth.wait_for(r"^ready")
        client = SimpleUDPClient("127.0.0.1", port)
        for pitch in pitches[::3][:8]:
            client.send_message("/note/on", pitch)
        time.sleep(args.baseline_seconds)
        summary, _ = synth.stop()
    return p99(summary), summary


def traced_window(path: Path, start: float, stop: float) -> dict:
    """The callbacks a trace (`CallbackTrace.save`) holds whose bodies began between `start`
    and `stop` (`time.perf_counter`, one monotonic clock for every process on the host):
    called, began, ended, flagged arrays and the period."""
    saved = np.load(path)
    inside = (saved["began"] >= start) & (saved["began"] <= stop)
    arrays = {key: saved[key][inside] for key in ("called", "began", "ended", "flagged")}
    return {**arrays, "period": float(saved["period"])}


def shared_underflows(ours: dict, theirs: dict, periods: int = 2) -> int:
    """How many of `ours` flagged callbacks (`traced_window`) began within `periods` periods
    of one of `theirs`: the late cycles that both clients had, the host's."""
    mine, other = ours["began"][ours["flagged"]], theirs["began"][theirs["flagged"]]
    if not len(mine) or not len(other):
        return 0
    near = np.abs(mine[:, None] - other[None, :]).min(axis=1)
    return int(np.sum(near <= periods * ours["period"]))


@contextlib.contextmanager
def sine_beside(rate: int, seconds: float, trace: Path):
    """A plain sine player (`tests.support.sine_player`) on the server, in a process of its
    own, from before the body until `seconds` after; its trace lands at `trace`."""
    command = [sys.executable, "-m", "tests.support.sine_player", "--seconds", str(seconds),
               "--rate", str(rate), "--trace", str(trace)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    said = process.stdout.readline()
    if said.strip() != "playing":
        process.kill()
        raise RuntimeError(f"the sine player did not start: {said!r}")
    try:
        yield
    finally:
        if process.wait(timeout=seconds + 30):
            raise RuntimeError(f"the sine player failed ({process.returncode})")


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["violin", "keys"])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--probes", type=int, default=10, help="latency notes per transport")
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mpe", action="store_true", help="the synth plays an MPE lower zone")
    parser.add_argument("--python-client", action="store_true",
                        help="a second Python client on the server through the soak")  # fmt: skip
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    sys.setswitchinterval(0.0005)  # the capture's callback waits less for the GIL
    results = []
    for model in args.models:
        with tempfile.TemporaryDirectory() as folder:
            r = soak_model(model, args, Path(folder))
        results.append(r)
        print(f"{model}: {r['ready_line']} ({r['ready_wall_s']:.1f} s seen from here)")
        for name in ("midi", "osc"):
            median, worst = r[f"{name}_latency_ms"]
            print(f"  {name} event-to-sound: median {median:.1f} ms, max {worst:.1f} ms")
        print(f"  soak {args.events} events / {args.seconds:g} s: {r['summary']}")
        print(f"  the server's xruns in the soak, by client: {r['xruns']}")
        print(f"  the synth's callbacks in the soak: {describe(r['callbacks'])}")
        print(f"  the sine player's beside it: {describe(r['sine_callbacks'])}")
        print(f"  underflows: the synth {r['callbacks']['underflows']}, the sine player "
              f"{r['sine_callbacks']['underflows']}; {r['shared_underflows']} of the synth's "
              f"within two periods of one of the sine player's (the host's)")  # fmt: skip
        for line in r["problems"]:
            print(f"  {line}")
        print(f"  gaps in the recording: {len(r['gaps'])} {r['gaps'][:5]}; capture overflows "
              f"{r['capture_overflows']}; stuck notes {r['stuck']}; final controls = last sent: "
              f"{r['final_ok']}; bad OSC said: {len(r['osc_bad'])} addresses")  # fmt: skip
        if "baseline_p99_ms" in r:
            print(f"  hop p99 {r['p99_ms']:.1f} ms against {r['baseline_p99_ms']:.1f} ms held "
                  f"without events ({r['p99_ms'] / r['baseline_p99_ms']:.2f}x)")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
