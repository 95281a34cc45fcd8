"""MIDI input (mido over python-rtmidi, ALSA or JACK): keys play voices, knobs move latents.

A note-on plays its key at its velocity (`voices.velocity_gain`: the General MIDI curve) on a
voice of its own, a note-off releases it; the sustain pedal (CC 64, down at 64 or more) holds
released notes until it goes up; CC 120 (all sound off) stops every voice at once, CC 123
(all notes off) releases them. Controllers move latent neurons across the span the model
uses: CC 20, 21, ... move z0, z1, ... by default (undefined CCs in General MIDI), `--cc
z0=1,z1=74` chooses others, and MIDI learn (`MidiController.learn`) maps the next controller
moved. The pitch wheel bends every voice over +-`bend_range` semitones (2 by default; RPN 0,
pitch bend sensitivity, sets it from the controller: CC 101 = 0, CC 100 = 0, then CC 6
semitones and CC 38 cents); the mod wheel (CC 1, unless mapped to a latent) sets the vibrato
depth up to `vibrato_depth` cents; CC 71 (harmonic content, likewise) the level between the
harmonics under the harmonic phase, -60 to 0 dB; CC 68 (the legato footswitch, likewise)
plays legato while down (at 64 or more). Pressure (channel aftertouch) moves a latent
axis or the gain (`pressure`), polyphonic aftertouch that axis of its note's own latent point.
With `mpe`,
an MPE lower zone: channel 1 is the manager (a plain keyboard, as above) and channels 2-16
each carry one note with its own pitch wheel (+-48 semitones; RPN 0 on a member channel sets
the members' range), pressure and CC 74 (slide), which move that note alone: its own bend and
its own latent point on the axes `pressure` and `slide` name. Each channel selects its own
registered parameter, as MIDI has it. Two member channels on one pitch play one voice (the
engine has a voice a pitch), which sounds until both release. Program changes, and pressure
with no axis to move, are ignored on purpose and counted. Every message goes to the
session's control methods (`ControlTargets`), which refuse keys the model was never trained
on and say each once.
"""

from __future__ import annotations

import ctypes
import threading
from collections import Counter

from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import MAX_BEND, RESIDUALS
from timbre_jax.synth.targets import ControlTargets

CC_BASE = 20  # CC 20, 21, ... move latent neurons 0, 1, ... by default
MOD_WHEEL, SUSTAIN, ALL_SOUND_OFF, ALL_NOTES_OFF = 1, 64, 120, 123
HARMONIC_CONTENT = 71  # sound controller 2: the residual between the harmonics
LEGATO = 68  # the legato footswitch
DATA_ENTRY, DATA_ENTRY_FINE, RPN_FINE, RPN = 6, 38, 100, 101  # registered parameters
# never mapped to a latent: what the pedal, the all-off messages and RPN 0 need
RESERVED = (DATA_ENTRY, DATA_ENTRY_FINE, SUSTAIN, RPN_FINE, RPN, ALL_SOUND_OFF, ALL_NOTES_OFF)
SLIDE = 74  # MPE's third dimension (timbre), per member channel
POLL_SECONDS = 0.001  # how often a `MidiInput` takes what rtmidi has queued
QUEUE_SIZE = 4096  # messages rtmidi queues at most between two takes
MEMBER_BEND_RANGE = 48.0  # semitones: MPE's default for member channels
BEND_RANGE = 2.0  # semitones at either end of the pitch wheel, by default
VIBRATO_DEPTH = 50.0  # cents of vibrato with the mod wheel all the way up, by default
THROUGH = "through"  # ports whose name has it only echo other ports: never chosen by default


def default_cc_map(latent_dim: int) -> dict[int, int]:
    """{controller: latent axis}: CC 20 -> z0, CC 21 -> z1, ..."""
    return {CC_BASE + i: i for i in range(latent_dim)}


def parse_cc_map(text: str, latent_dim: int) -> dict[int, int]:
    """`z0=1,z1=74` -> {1: 0, 74: 1} (controller -> latent axis); axes not named keep no
    controller."""
    mapping: dict[int, int] = {}
    for item in text.split(","):
        axis, _, control = item.strip().partition("=")
        if not (axis.startswith("z") and axis[1:].isdigit() and control.strip().isdigit()):
            raise ParameterError(f"--cc takes z<axis>=<controller> pairs like z0=1,z1=74, "
                                 f"got {item!r}")  # fmt: skip
        axis, control = int(axis[1:]), int(control)
        if axis >= latent_dim:
            raise ParameterError(f"--cc {item}: the model has z0-z{latent_dim - 1}")
        if not 0 <= control <= 127 or control in RESERVED:
            raise ParameterError(f"--cc {item}: a controller is 0-127 other than {RESERVED} "
                                 "(RPN data entry, sustain, RPN, all sound/notes off)")  # fmt: skip
        if control in mapping or axis in mapping.values():
            raise ParameterError(f"--cc {text}: each controller and each axis once")
        mapping[control] = axis
    return mapping


def parse_axis(text: str | None, latent_dim: int, flag: str, *, gain: bool = False):
    """`z1` -> 1 (a latent axis), `gain` -> "gain" where `gain` is allowed, None -> None."""
    if text is None:
        return None
    if gain and text == "gain":
        return "gain"
    if not (text.startswith("z") and text[1:].isdigit() and int(text[1:]) < latent_dim):
        choices = f"z0-z{latent_dim - 1}" + (" or gain" if gain else "")
        raise ParameterError(f"{flag} takes {choices}, got {text!r}")
    return int(text[1:])


class MidiController:
    """Turns MIDI messages into session controls; callable with a `mido.Message`.

    Args:
      targets: the session (or its `ControlTargets`).
      low, high: [latent_dim] the latent span controller values 0..127 map onto.
      cc_map: {controller: latent axis}; default `default_cc_map`.
      bend_range: semitones at either end of the pitch wheel (RPN 0 changes it).
      vibrato_depth: cents of vibrato with the mod wheel all the way up.
      pressure: the latent axis pressure moves, or "gain" (channel pressure only), or None.
      mpe: play an MPE lower zone (channels 2-16 one note each).
      slide: the latent axis an MPE member channel's CC 74 moves for its note, or None.
    """

    def __init__(self, targets: ControlTargets, low, high, cc_map: dict[int, int] | None = None,
                 *, bend_range: float = BEND_RANGE, vibrato_depth: float = VIBRATO_DEPTH,
                 pressure: int | str | None = None, mpe: bool = False,
                 slide: int | None = None):  # fmt: skip
        self.targets = targets
        self.low, self.high = [float(v) for v in low], [float(v) for v in high]
        self.cc_map = dict(cc_map) if cc_map is not None else default_cc_map(len(self.low))
        self.bend_range, self.vibrato_depth = bend_range, vibrato_depth
        self._wheel = 0  # the pitch wheel's position, -8192..8191
        self._rpn: dict[int, list[int]] = {}  # per channel, the RPN selected (MSB, LSB)
        self.pressure, self.mpe, self.slide = pressure, mpe, slide
        self.member_bend_range = MEMBER_BEND_RANGE
        self._members: dict[int, dict] = {}  # MPE member channel -> its note and expression
        self._manager_notes: set[int] = set()  # MPE: notes held on the manager channel
        self.learning: int | None = None  # the axis the next controller moved will move
        self.ignored: Counter = Counter()  # messages ignored on purpose, by type
        self._lock = threading.Lock()  # learning happens on the GUI thread, messages on MIDI's

    def learn(self, axis: int | None) -> None:
        """The next controller moved (other than the reserved ones), or pressure, moves latent
        `axis` from then on, in place of the controller it had; None cancels."""
        with self._lock:
            self.learning = axis

    def __call__(self, message) -> None:
        if self.mpe and getattr(message, "channel", 0) > 0:
            self._member(message)
            return
        if message.type in ("aftertouch", "polytouch") and self._learned_pressure():
            return
        if message.type == "aftertouch" and self.pressure is not None:
            if self.pressure == "gain":
                self.targets.set_gain(message.value / 127)
            else:
                self.targets.set_axis(self.pressure, self._scaled(self.pressure, message.value))
            return
        if message.type == "polytouch" and isinstance(self.pressure, int):
            axis = self.pressure
            self.targets.set_note_axis(message.note, axis, self._scaled(axis, message.value))
            return
        if message.type == "note_on" and message.velocity > 0:
            if self.mpe:
                self._manager_notes.add(message.note)
            self.targets.note_on(message.note, message.velocity)
        elif message.type in ("note_off", "note_on"):
            self._manager_note_off(message.note)
        elif message.type == "control_change":
            self._control(message.control, message.value, channel=getattr(message, "channel", 0))
        elif message.type == "pitchwheel":
            self._wheel = message.pitch
            self.targets.set_bend(self._wheel / 8192 * self.bend_range)
        else:  # program changes, pressure with no axis to move
            self.ignored[message.type] += 1

    def _learned_pressure(self) -> bool:
        """MIDI learn: pressure while an axis waits for a controller maps pressure to it."""
        with self._lock:
            if self.learning is None:
                return False
            self.pressure, self.learning = self.learning, None
            return True

    def _scaled(self, axis: int, value: int) -> float:
        """A controller value 0..127 across latent `axis`'s span."""
        return self.low[axis] + value / 127 * (self.high[axis] - self.low[axis])

    def _member(self, message) -> None:
        """A message on an MPE member channel: its one note, and that note's own expression
        (kept per channel: a controller may send it before the note, as MPE advises)."""
        state = self._members.setdefault(message.channel, {"note": None})
        kind, note = message.type, state["note"]
        if kind == "note_on" and message.velocity > 0:
            if note is not None:
                self._release(message.channel)
            played = self.targets.note_on(message.note, message.velocity)
            state["note"] = message.note if played else None
            self._express(state)
        elif kind in ("note_off", "note_on"):
            if note == message.note:
                self._release(message.channel)
        elif kind == "pitchwheel":
            state["bend"] = message.pitch / 8192 * self.member_bend_range
            self._express(state)
        elif kind == "aftertouch" and isinstance(self.pressure, int):
            state[self.pressure] = self._scaled(self.pressure, message.value)
            self._express(state)
        elif kind == "control_change" and message.control == SLIDE and self.slide is not None:
            state[self.slide] = self._scaled(self.slide, message.value)
            self._express(state)
        elif kind == "control_change" and message.control in (RPN, RPN_FINE, DATA_ENTRY,
                                                              DATA_ENTRY_FINE):  # fmt: skip
            self._control(message.control, message.value, channel=message.channel, member=True)
        elif kind == "control_change":
            self._control(message.control, message.value, channel=message.channel)
        else:
            self.ignored[kind] += 1

    def _release(self, channel: int) -> None:
        """Ends member `channel`'s note; the voice sounds on while another member channel
        holds the same pitch (the engine has one voice a pitch), with that channel's
        expression again, or while the manager channel holds it, with the channel's."""
        note = self._members[channel]["note"]
        self._members[channel]["note"] = None
        holders = [state for state in self._members.values() if state["note"] == note]
        if note is None:
            return
        if holders:
            self._express(holders[-1])
        elif note in self._manager_notes:
            self.targets.clear_note_expression(note)
        else:
            self.targets.note_off(note)

    def _manager_note_off(self, note: int) -> None:
        """A note off outside a member channel: the voice sounds on while a member channel
        holds the same pitch, with that channel's expression."""
        self._manager_notes.discard(note)
        holders = [state for state in self._members.values() if state["note"] == note]
        if holders:
            self._express(holders[-1])
        else:
            self.targets.note_off(note)

    def _forget_notes(self) -> None:
        """No channel holds a note any more (all notes or all sound off)."""
        self._manager_notes.clear()
        for state in self._members.values():
            state["note"] = None

    def _express(self, state: dict) -> None:
        """Sends a member channel's bend and axes to its note, if one sounds."""
        note = state["note"]
        if note is None:
            return
        if "bend" in state:
            self.targets.set_note_bend(note, state["bend"])
        for axis in {self.pressure, self.slide} - {None, "gain"}:
            if axis in state:
                self.targets.set_note_axis(note, axis, state[axis])

    def _control(self, control: int, value: int, *, channel: int = 0,
                 member: bool = False) -> None:  # fmt: skip
        if control == SUSTAIN:
            self.targets.set_sustain(value >= 64)
        elif control == ALL_SOUND_OFF:
            self._forget_notes()
            self.targets.all_sound_off()
        elif control == ALL_NOTES_OFF:
            self._forget_notes()
            self.targets.all_notes_off()
        elif control in (RPN, RPN_FINE):  # selected per channel, as MIDI has it
            self._rpn.setdefault(channel, [127, 127])[control == RPN_FINE] = value
        elif control in (DATA_ENTRY, DATA_ENTRY_FINE):
            if self._rpn.get(channel) == [0, 0]:  # pitch bend sensitivity; no other is ours
                self._data_entry(control, value, member=member)
        elif control == MOD_WHEEL and control not in self.cc_map and self.learning is None:
            self.targets.set_vibrato(value / 127 * self.vibrato_depth)
        elif control == HARMONIC_CONTENT and control not in self.cc_map and self.learning is None:
            low, high = RESIDUALS
            self.targets.set_residual(low + value / 127 * (high - low))
        elif control == LEGATO and control not in self.cc_map and self.learning is None:
            self.targets.set_legato(value >= 64)
        else:
            with self._lock:
                if self.learning is not None:
                    self.cc_map = {c: a for c, a in self.cc_map.items() if a != self.learning}
                    self.cc_map[control], self.learning = self.learning, None
                axis = self.cc_map.get(control)
            if axis is not None:
                low, high = self.low[axis], self.high[axis]
                self.targets.set_axis(axis, low + value / 127 * (high - low))

    def _data_entry(self, control: int, value: int, *, member: bool = False) -> None:
        """RPN 0 (pitch bend sensitivity): CC 6 sets its semitones, CC 38 its cents; the wheel
        where it is now bends by the new range at once. On an MPE member channel it sets the
        members' range."""
        old = self.member_bend_range if member else self.bend_range
        semitones, cents = int(old), round(100 * (old - int(old)))
        if control == DATA_ENTRY:
            semitones, cents = value, 0  # a new coarse value starts its fine part over
        else:
            cents = min(value, 99)
        new = min(semitones + cents / 100, MAX_BEND)
        if member:
            self.member_bend_range = new
        else:
            self.bend_range = new
            self.targets.set_bend(self._wheel / 8192 * self.bend_range)


class MidiInput:
    """An open MIDI input port whose messages a thread of ours hands to a `MidiController`.

    No rtmidi callback is set: rtmidi queues the messages in C++ and the thread takes them
    every POLL_SECONDS. Under JACK, rtmidi calls a callback from the server's process thread,
    which then waited for the GIL: a thread holding it 8 ms every 100 ms made the synth's MIDI
    client late 46 and 42 times in 8 s of a message every 5 ms, polled 0 and 0
    (`launch/bench_gil_hold.py --midi`). Polling adds up to POLL_SECONDS of latency.

    Args:
      controller: what the messages drive (a `mido.Message` each).
      name: the port (a name from `input_names`).
      api: the rtmidi API, e.g. "UNIX_JACK" (default: ALSA).

    Raises:
      ParameterError: there is no such port.
    """

    def __init__(self, controller: MidiController, name: str, api: str | None = None):
        import rtmidi

        self.controller, self.name = controller, name
        rtapi = getattr(rtmidi, f"API_{api}") if api else rtmidi.API_UNSPECIFIED
        self._rt = rtmidi.MidiIn(rtapi, queue_size_limit=QUEUE_SIZE)
        ports = self._rt.get_ports()
        try:
            if name not in ports:
                listing = ", ".join(ports) or "none"
                raise ParameterError(f"no MIDI input {name!r}; inputs: {listing}")
            self._rt.open_port(ports.index(name))
        except Exception:
            self._rt.delete()  # a client left open would stay in a JACK graph
            raise
        self._rt.ignore_types(sysex=True, timing=True, active_sense=True)
        self.failures: list[str] = []  # messages the controller failed on, for `news`
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._take, name="midi-input", daemon=True)
        self._thread.start()

    def _take(self) -> None:
        import mido

        while not self._stop.is_set():
            message = self._rt.get_message()
            if message is None:
                self._stop.wait(POLL_SECONDS)
                continue
            try:
                decoded = mido.Message.from_bytes(message[0])
            except ValueError:  # a running-status fragment or an undefined status byte
                continue
            try:
                self.controller(decoded)
            except Exception as err:  # one bad message must not end MIDI input
                self.failures.append(f"MIDI {decoded}: {err} (ignored)")

    def news(self) -> list[str]:
        """The messages that failed since the last call, one line each (up to 3)."""
        failed, self.failures = self.failures, []
        return failed[:3]

    def tally(self) -> str:
        return ""  # every MIDI message has a meaning or is ignored on purpose

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._rt.close_port()
        self._rt.delete()


class PortWatcher:
    """Opens the first MIDI input that appears after launch, for a session that found none.

    It keeps one rtmidi client to list the ports, so that polling adds nothing to a JACK graph
    (a new client each time would reorder it, which the audio device can flag as late).

    Args:
      session: the session the port is opened for (`Session.switch_midi`).
      controller: what the new port's messages drive.
      api: the rtmidi API name, e.g. "UNIX_JACK" (default: ALSA).
    """

    def __init__(self, session, controller: MidiController, api: str | None = None):
        import rtmidi

        self.session, self.controller, self.api = session, controller, api
        self.failed: set[str] = set()  # ports that would not open: not tried again
        rtapi = getattr(rtmidi, f"API_{api}", rtmidi.API_UNSPECIFIED) if api else None
        self.probe = rtmidi.MidiIn(rtapi or rtmidi.API_UNSPECIFIED, name="timbre_jax probe")

    def poll(self) -> str | None:
        """Opens the first input now there (not a "Through" port) if no MIDI input is open;
        returns a line saying so, else None."""
        if self.session.midi_input is not None:
            return None
        name = choose_port([n for n in self.probe.get_ports() if n not in self.failed])
        if name is None:
            return None
        try:
            self.session.switch_midi(name, self.controller, self.api)
        except Exception as err:  # gone again, or refused by the MIDI system
            self.failed.add(name)
            return f"MIDI in: cannot open {name} ({err})"
        return f"MIDI in: {name} (plugged in after launch)"

    def close(self) -> None:
        self.probe.delete()


def watch_ports(session, controller: MidiController, api: str | None = None):
    """A `PortWatcher`, or None where there is no MIDI system to watch (no rtmidi)."""
    try:
        return PortWatcher(session, controller, api)
    except Exception:  # rtmidi missing, or its API unavailable here
        return None


def quiet_alsa() -> None:
    """Stops ALSA's library from writing its own errors to stderr (`open /dev/snd/seq failed`
    where there is no sequencer): what is missing is said in our words. Once per process;
    nothing where there is no libasound."""
    global _ALSA_HANDLER
    if _ALSA_HANDLER is not None:
        return
    try:
        alsa = ctypes.CDLL("libasound.so.2")
    except OSError:
        return
    handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                    ctypes.c_int, ctypes.c_char_p)  # fmt: skip
    _ALSA_HANDLER = handler_type(lambda *_: None)  # kept: ALSA holds the pointer
    alsa.snd_lib_error_set_handler(_ALSA_HANDLER)


_ALSA_HANDLER = None


def input_names(api: str | None = None) -> list[str]:
    """MIDI input ports (empty when there is no MIDI system); api e.g. "UNIX_JACK"."""
    quiet_alsa()
    try:
        return backend(api).get_input_names()
    except Exception:  # no ALSA sequencer or JACK server, or no rtmidi
        return []


def choose_port(names: list[str], wanted: str | None = None) -> str | None:
    """The input to open: `wanted` as an index or (part of) a name; by default the first
    port that is not a "Through" port; None if there is none."""
    if wanted is None:
        return next((n for n in names if THROUGH not in n.lower()), None)
    if wanted.isdigit() and int(wanted) < len(names):
        return names[int(wanted)]
    matches = [n for n in names if wanted == n] or [n for n in names if wanted.lower() in n.lower()]
    if len(matches) != 1:
        listing = "; ".join(f"{i}: {n}" for i, n in enumerate(names)) or "none"
        found = "matches several" if matches else "not found"
        raise ParameterError(f"MIDI input {wanted!r} {found}; inputs: {listing}")
    return matches[0]


def backend(api: str | None = None):
    import mido

    return mido.Backend("mido.backends.rtmidi" + (f"/{api}" if api else ""))


def api_names() -> list[str]:
    """The rtmidi APIs this installation has, e.g. ["LINUX_ALSA", "UNIX_JACK"]."""
    try:
        return backend().module.get_api_names()
    except Exception:  # no rtmidi
        return []
