"""OSC in: real UDP datagrams from python-osc's client to a session's OSC server."""

import socket
import threading
import time

import mido
import pytest
from pythonosc.udp_client import SimpleUDPClient

from timbre_jax.errors import ParameterError
from timbre_jax.synth import midi
from timbre_jax.synth.osc import LOCALHOST, UNPARSEABLE, OscControls, OscInput
from timbre_jax.synth.targets import ControlTargets


@pytest.fixture
def targets():
    return ControlTargets([0.0, -1.0], 0.8, "harmonic", ["noise", "rtpghi", "harmonic"])


@pytest.fixture
def server(targets):
    osc = OscInput(OscControls(targets, [0.0, -1.0], [1.0, 1.0]), 0)
    yield osc
    osc.close()


def wait_for(condition, seconds=5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_it_listens_on_localhost_by_default(server):
    assert server.host == LOCALHOST and server.port > 0


def test_notes_sustain_latents_gain_and_phase(server, targets):
    client = SimpleUDPClient(LOCALHOST, server.port)
    client.send_message("/note/on", [60, 90])
    client.send_message("/note", [64.0, 70])  # floats that are whole numbers are notes
    client.send_message("/note/on", 67)  # velocity 100 by default
    client.send_message("/z/1", 0.75)  # 0..1 across the span: -1 + 0.75 * 2
    client.send_message("/gain", 0.5)
    client.send_message("/phase", "rtpghi")
    assert wait_for(lambda: targets.peek().phase == "rtpghi")
    c = targets.peek()
    assert c.notes == ((60, 90), (64, 70), (67, 100))
    assert c.latent == (0.0, 0.5) and c.gain == 0.5
    client.send_message("/sustain", 1)
    client.send_message("/note/off", 60)
    client.send_message("/note", [64, 0])  # velocity 0: off
    client.send_message("/latent", [1.0, 0.0])
    assert wait_for(lambda: targets.peek().latent == (1.0, -1.0))
    assert targets.peek().notes == ((60, 90), (64, 70), (67, 100))  # held by the pedal
    client.send_message("/all_notes_off", [])
    assert wait_for(lambda: targets.peek().notes == ())


def test_bend_and_vibrato(server, targets):
    client = SimpleUDPClient(LOCALHOST, server.port)
    client.send_message("/bend", -1.5)
    client.send_message("/vibrato", [30, 6])
    client.send_message("/legato", 1)

    def vibrato():
        c = targets.peek()
        return c.bend, c.vibrato, c.vibrato_hz

    assert wait_for(lambda: vibrato() == (-1.5, 30.0, 6.0) and targets.peek().legato)
    client.send_message("/bend", 60)  # past +-48 semitones
    client.send_message("/vibrato", "deep")
    assert wait_for(lambda: server.controls.bad["/bend"] == server.controls.bad["/vibrato"] == 1)
    assert vibrato() == (-1.5, 30.0, 6.0)
    assert any("/bend: bend must be within +-48 semitones" in n for n in server.news())


def test_bad_messages_are_counted_and_said_once_per_address(server, targets):
    client = SimpleUDPClient(LOCALHOST, server.port)
    before = targets.peek()
    client.send_message("/z/1", 1.5)  # outside 0..1
    client.send_message("/z/1", "loud")
    client.send_message("/z/7", 0.5)  # no such axis: an unknown address
    client.send_message("/note/on", [60.5, 100])
    client.send_message("/note/on", [60, 200])
    client.send_message("/phase", "granular")
    client.send_message("/latent", [0.5])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(b"not an OSC packet", (LOCALHOST, server.port))
        raw.sendto(b"/gain\x00\x00\x00,f\x00", (LOCALHOST, server.port))  # cut short
    client.send_message("/gain", 0.25)  # a good one after them still plays
    assert wait_for(lambda: targets.peek().gain == 0.25 and sum(server.controls.bad.values()) == 9)
    assert targets.peek() == before._replace(gain=0.25)
    bad = server.controls.bad
    assert bad["/z/1"] == 2 and bad["/z/7"] == 1 and bad["/note/on"] == 2 and bad[UNPARSEABLE] == 2
    news = server.news()
    assert len(news) == 6 and any("/z/1: z1 must be a number in [0, 1]" in n for n in news)
    assert any("/z/7: unknown address" in n for n in news)
    client.send_message("/z/1", 2.0)
    assert wait_for(lambda: bad["/z/1"] == 3) and server.news() == []  # said once
    assert server.tally() == ("OSC ignored 10: /z/1 3, /note/on 2, (not OSC) 2, /z/7 1, "
                              "/phase 1, /latent 1")  # fmt: skip


@pytest.mark.parametrize(
    "address, args, why",
    [("/all_notes_off", [1], "/all_notes_off takes no arguments, got 1"),
     ("/note/off", [], "/note/off takes 1 argument(s), got 0"),
     ("/note/on", [60, 100, 3], "/note/on takes 1 to 2 arguments, got 3"),
     ("/gain", [0.5, 0.5], "/gain takes 1 argument(s), got 2"),
     ("/z/0", [], "/z/0 takes 1 argument(s), got 0")],
)  # fmt: skip
def test_a_wrong_number_of_arguments_is_said_in_our_words(server, targets, address, args, why):
    client = SimpleUDPClient(LOCALHOST, server.port)
    client.send_message(address, args)
    assert wait_for(lambda: server.controls.bad[address] == 1)
    assert server.news() == [f"OSC {address}: {why} (ignored)"]
    assert server.tally() == f"OSC ignored 1: {address} 1"


def test_osc_and_midi_on_two_threads_leave_the_last_write(server, targets):
    """OSC moves z0 and MIDI moves z1 at the same time, then each sends a last value: both
    last values stand, whichever thread ran last."""
    client = SimpleUDPClient(LOCALHOST, server.port)
    controller = midi.MidiController(targets, [0.0, -1.0], [1.0, 1.0])

    def turn_knob():
        for value in list(range(128)) * 20 + [0]:
            controller(mido.Message("control_change", control=midi.CC_BASE + 1, value=value))

    knob = threading.Thread(target=turn_knob)
    knob.start()
    for k in range(1000):
        client.send_message("/z/0", (k % 100) / 100)
    knob.join()
    received = -1
    while received != server.controls.received:  # the burst handled (UDP may drop some)
        received = server.controls.received
        time.sleep(0.05)
    assert targets.peek().latent[1] == -1.0  # MIDI's last value, whatever OSC did meanwhile
    client.send_message("/z/0", 0.25)
    assert wait_for(lambda: targets.peek().latent == (0.25, -1.0))
    controller(mido.Message("control_change", control=midi.CC_BASE, value=127))  # MIDI on z0
    assert targets.peek().latent == (1.0, -1.0)


def test_a_port_in_use_is_one_error(server, targets):
    with pytest.raises(ParameterError, match=f"cannot listen for OSC on 127.0.0.1:{server.port}"):
        OscInput(OscControls(targets, [0, 0], [1, 1]), server.port)
