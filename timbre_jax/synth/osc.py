"""OSC input (python-osc over UDP): play a session from TouchOSC, Max, Pd, SuperCollider or a
script.

Address space (arguments are OSC ints or floats; latent values are 0..1 across the span the
model uses, as a fader or a MIDI controller moves them):

| address | arguments | does |
|---|---|---|
| `/note/on` | pitch [velocity=100] | gates MIDI pitch 0-127 at velocity 1-127 |
| `/note/off` | pitch | releases it |
| `/note` | pitch velocity | as `/note/on`; velocity 0 releases |
| `/sustain` | 0 or 1 | the sustain pedal |
| `/z/I` | value | latent axis I (0-based) |
| `/latent` | v0 v1 ... | the whole latent point |
| `/gain` | 0..1 | output gain |
| `/phase` | noise, rtpghi or harmonic | phase method |
| `/bend` | semitones | bends every voice (within +-48; heard under harmonic phase) |
| `/vibrato` | cents [Hz] | vibrato depth, 0-100, and rate, 0.1-20 (default: as it was) |
| `/glide` | seconds | portamento from the note played before, 0-10 (0: none) |
| `/legato` | 0 or 1 | one line of notes: a key pressed while one is held moves it there |
| `/residual` | dB | level between the harmonics under harmonic phase, -60 to 0 |
| `/note/bend` | pitch semitones | the held note's own bend, on top of `/bend` |
| `/note/z/I` | pitch value | latent axis I of the held note's own latent point (0..1) |
| `/all_notes_off` | | every note releases |
| `/all_sound_off` | | every note stops at once |

A message that cannot be parsed, has an unknown address or bad arguments changes nothing: it
is counted by address, said once (`news`) and tallied in the status line (`tally`); no
exception leaves the server's thread.
"""

from __future__ import annotations

import math
import threading
from collections import Counter

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from timbre_jax.errors import ParameterError
from timbre_jax.synth.targets import ControlTargets

LOCALHOST = "127.0.0.1"
UNPARSEABLE = "(not OSC)"


def _integer(value, what: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or value != int(value)):  # fmt: skip
        raise ParameterError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def _unit(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ParameterError(f"{what} must be a number in [0, 1], got {value!r}")
    return float(value)


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{what} must be a number, got {value!r}")
    return float(value)


def _arguments(address: str, args: tuple, fewest: int, most: int | None) -> tuple:
    """The arguments of a message, refused unless there are `fewest` to `most` of them."""
    if len(args) < fewest or (most is not None and len(args) > most):
        takes = ("no arguments" if most == 0 else f"{fewest} argument(s)" if fewest == most
                 else f"{fewest} to {most} arguments")  # fmt: skip
        raise ParameterError(f"{address} takes {takes}, got {len(args)}")
    return args


def _checked(action, fewest: int, most: int | None):
    """A handler (address, *args) that calls `action(*args)` once their count is checked."""
    return lambda address, *args: action(*_arguments(address, args, fewest, most))


class OscControls:
    """Maps OSC addresses onto a session's controls.

    Args:
      targets: the session (or its `ControlTargets`).
      low, high: [latent_dim] the latent span that values 0..1 map onto.
    """

    def __init__(self, targets: ControlTargets, low, high):
        self.targets = targets
        self.low, self.high = [float(v) for v in low], [float(v) for v in high]
        self.bad: Counter = Counter()  # bad messages by address
        self.why: dict[str, str] = {}  # the first reason for each address
        self._said: set[str] = set()
        self.received = 0
        self.dispatcher = self._dispatcher()

    def _scaled(self, axis: int, value) -> float:
        value = _unit(value, f"z{axis}")
        return self.low[axis] + value * (self.high[axis] - self.low[axis])

    def _note(self, pitch, velocity=100) -> None:
        velocity = _integer(velocity, "velocity")
        if velocity == 0:
            self.targets.note_off(_integer(pitch, "pitch"))
        else:
            self.targets.note_on(_integer(pitch, "pitch"), velocity)

    def _point(self, *values) -> None:
        if len(values) != len(self.low):
            raise ParameterError(f"/latent takes {len(self.low)} values, got {len(values)}")
        self.targets.set_latent([self._scaled(i, v) for i, v in enumerate(values)])

    def _vibrato(self, cents, hz=None) -> None:
        if hz is not None:
            self.targets.set_vibrato_rate(_number(hz, "vibrato rate"))
        self.targets.set_vibrato(_number(cents, "vibrato"))

    def _note_bend(self, pitch, semitones) -> None:
        self.targets.set_note_bend(_integer(pitch, "pitch"), _number(semitones, "bend"))

    def _phase(self, name) -> None:
        if not isinstance(name, str):
            raise ParameterError(f"phase must be a string, got {name!r}")
        self.targets.set_phase(name)

    def _dispatcher(self) -> Dispatcher:
        t = self.targets
        actions = {  # address: (action, the fewest and most arguments it takes)
            "/note/on": (self._note, 1, 2),
            "/note/off": (lambda pitch: t.note_off(_integer(pitch, "pitch")), 1, 1),
            "/note": (self._note, 2, 2),
            "/sustain": (lambda down: t.set_sustain(bool(_integer(down, "sustain"))), 1, 1),
            "/latent": (self._point, 0, None),
            "/gain": (lambda gain: t.set_gain(_unit(gain, "gain")), 1, 1),
            "/phase": (self._phase, 1, 1),
            "/bend": (lambda semitones: t.set_bend(_number(semitones, "bend")), 1, 1),
            "/vibrato": (self._vibrato, 1, 2),
            "/glide": (lambda seconds: t.set_glide(_number(seconds, "glide")), 1, 1),
            "/legato": (lambda on: t.set_legato(bool(_integer(on, "legato"))), 1, 1),
            "/residual": (lambda db: t.set_residual(_number(db, "residual")), 1, 1),
            "/note/bend": (self._note_bend, 2, 2),
            "/all_notes_off": (t.all_notes_off, 0, 0),
            "/all_sound_off": (t.all_sound_off, 0, 0),
        }
        dispatcher = CountingDispatcher(self)
        for address, (action, fewest, most) in actions.items():
            dispatcher.map(address, self._guarded(_checked(action, fewest, most)))
        for axis in range(len(self.low)):
            set_axis = lambda value, a=axis: t.set_axis(a, self._scaled(a, value))  # noqa: E731
            dispatcher.map(f"/z/{axis}", self._guarded(_checked(set_axis, 1, 1)))
            note_axis = lambda pitch, value, a=axis: t.set_note_axis(  # noqa: E731
                _integer(pitch, "pitch"), a, self._scaled(a, value)
            )
            dispatcher.map(f"/note/z/{axis}", self._guarded(_checked(note_axis, 2, 2)))
        dispatcher.set_default_handler(lambda address, *_: self.count(address, "unknown address"))
        return dispatcher

    def _guarded(self, handler):
        """The handler, with what a bad message raises counted instead."""

        def guarded(address, *args):
            self.received += 1
            try:
                handler(address, *args)
            except (ParameterError, TypeError, ValueError) as err:
                self.count(address, str(err).split(";")[0])

        return guarded

    def count(self, address: str, why: str) -> None:
        self.why.setdefault(address, why)  # first: `news` reads `why` for what `bad` has
        self.bad[address] += 1

    def news(self) -> list[str]:
        """One line for each address that had a bad message since the last call, the first
        time only."""
        new = [a for a in list(self.bad) if a not in self._said]
        self._said.update(new)
        return [f"OSC {a}: {self.why[a]} (ignored)" for a in new]

    def tally(self) -> str:
        """The bad messages so far, by address, for a status line: "" while there are none,
        most first, e.g. "OSC ignored 27: (not OSC) 16, /z/7 11"."""
        counts = dict(self.bad)
        if not counts:
            return ""
        each = ", ".join(f"{a} {n}" for a, n in sorted(counts.items(), key=lambda x: -x[1]))
        return f"OSC ignored {sum(counts.values())}: {each}"


class CountingDispatcher(Dispatcher):
    """python-osc's dispatcher, counting the packets it cannot parse (it drops them silently)."""

    def __init__(self, controls: OscControls):
        super().__init__(strict_timing=False)  # a bundle's time tag never holds the thread
        self.controls = controls

    def call_handlers_for_packet(self, data: bytes, client_address) -> list:
        try:
            osc_packet.OscPacket(data)
        except osc_packet.ParseError:
            self.controls.count(UNPARSEABLE, "a datagram that is not an OSC message")
            return []
        return super().call_handlers_for_packet(data, client_address)


class OscServer(BlockingOSCUDPServer):
    """Passes every datagram to the dispatcher, which counts those that are not OSC."""

    def verify_request(self, request, client_address) -> bool:
        return True


class OscInput:
    """Listens for OSC on UDP `host`:`port` in a thread of its own.

    Args:
      controls: the address space.
      port: the UDP port (0: one the system picks; `port` says which).
      host: the interface to listen on; localhost by default, "0.0.0.0" for every network.
    """

    def __init__(self, controls: OscControls, port: int, host: str = LOCALHOST):
        self.controls = controls
        try:
            self.server = OscServer((host, port), controls.dispatcher)
        except OSError as err:
            raise ParameterError(f"cannot listen for OSC on {host}:{port} ({err})") from err
        self.host, self.port = self.server.server_address[:2]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name="osc-input",
            daemon=True,
        )  # fmt: skip
        self._thread.start()

    def news(self) -> list[str]:
        return self.controls.news()

    def tally(self) -> str:
        return self.controls.tally()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
