"""`python -m timbre_jax.synth --headless` played live: a JACK dummy server at 48 kHz, OSC and
a JACK MIDI keyboard from this process, the synth's output recorded sample by sample here
(tests/support), and a short run of launch/soak.py itself."""

import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import librosa
import mido
import numpy as np
import pytest
from pythonosc.udp_client import SimpleUDPClient

from tests.helpers import gaps_to_full_lead
from tests.support.headless import Synth
from tests.support.jack import KEYBOARD, Capture, jack_dummy, open_keyboard
from timbre_jax.dsp.chroma import NOTE_NAMES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "launch"))
import soak  # noqa: E402  (the soak itself, run short)

pytestmark = pytest.mark.audio
CHORD = (62, 66, 69)  # D4 F#4 A4, in the violin's range
# A shared 2-core host stalls the producer past the ring's 17.5 ms lead once in a while (7 gaps
# in this 5 s soak on one noisy day, before the lead grew after each); the lead then grows, so
# a gap beyond the steps to its cap is a fault (timbre_jax/synth/README.md, "What makes live
# play drop out").
TOLERATED_UNDERRUNS = gaps_to_full_lead()


def ring_underruns(summary: str) -> int:
    return int(re.search(r"underruns: ring (\d+),", summary).group(1))


def qt_loaded(pid: int) -> bool:
    """Whether a Qt library is mapped into the process."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "libQt" in maps or "PySide6" in maps


def test_a_headless_synth_plays_an_osc_chord_sent_before_ready_and_releases_it(tmp_path):
    trace = tmp_path / "trace.npz"
    with jack_dummy(48000), open_keyboard(), Synth("violin", 48000, "--trace", str(trace)) as synth:
        assert synth.wait_for(r"^model violin: shipped")
        assert KEYBOARD in synth.wait_for(r"^MIDI in: (.+)$").group(1)
        port = int(synth.wait_for(r"OSC on udp://127.0.0.1:(\d+)").group(1))
        client = SimpleUDPClient("127.0.0.1", port)
        for pitch in CHORD:  # the ports are open, the sound not yet: queued, then played
            client.send_message("/note/on", [pitch, 100])
        # the host's answer to the producer thread's real-time request (yes as root here)
        synth.wait_for(r"^ready in [\d.]+ s from launch \(.*; producer at (real-time|normal) "
                       r"priority\)$")  # fmt: skip
        with Capture(48000) as capture:
            capture.start()
            synth.wait_for(r"^voices 3/8")
            time.sleep(1.0)
            chord = capture.audio()[-48000:]
            client.send_message("/all_notes_off", [])
            time.sleep(1.0)
            assert not qt_loaded(synth.process.pid)
            summary, final = synth.stop()
            after = capture.audio()[-12000:]
    chroma = librosa.feature.chroma_stft(y=chord, sr=48000, n_fft=4096).mean(axis=1)
    assert {NOTE_NAMES[i] for i in np.argsort(chroma)[-3:]} == {"D", "F#", "A"}
    assert np.abs(after).max() == 0.0  # released and rung out
    assert final["notes"] == [] and final["sounding"] == 0
    assert ring_underruns(summary) <= TOLERATED_UNDERRUNS, summary
    played = float(re.search(r"^played ([\d.]+) s", summary).group(1))
    said = next(line for line in synth.seen if line.startswith("trace: "))
    callbacks = np.load(trace)
    steps = np.diff(callbacks["called"])  # the server's cycles, by the stream's clock
    assert len(steps) + 1 == pytest.approx(played * 48000 / 256, rel=0.05), said
    assert np.median(steps) == pytest.approx(256 / 48000, rel=0.01)
    assert (
        np.all(callbacks["ended"] >= callbacks["began"]) and f"{len(steps) + 1} callbacks" in said
    )


def test_an_mpe_chord_from_a_jack_keyboard_bends_and_colours_each_note_apart():
    """Member channels 2 and 3 of an MPE zone each carry a note: A4 bent up a semitone by its
    own wheel with its own timbre (CC 74), D4 as played. The stream sounds A4 at 466 Hz
    beside D4 at 294 Hz, and the final controls hold each note's own expression."""
    with jack_dummy(48000), open_keyboard() as keyboard, Synth("violin", 48000, "--mpe") as synth:
        synth.wait_for(r"^ready in [\d.]+ s from launch")
        for message in [mido.Message("pitchwheel", channel=1, pitch=170),  # +0.996 semitone
                        mido.Message("control_change", channel=1, control=74, value=10),
                        mido.Message("note_on", channel=1, note=69, velocity=100),
                        mido.Message("note_on", channel=2, note=62, velocity=100)]:  # fmt: skip
            keyboard.send(message)
        synth.wait_for(r"^voices 2/8", seconds=20)
        with Capture(48000) as capture:
            capture.start()
            time.sleep(1.5)
            held = capture.audio()[-48000:]
        _, final = synth.stop()
    spectrum = np.abs(np.fft.rfft(held * np.hanning(len(held))))  # bins of 1 Hz

    def peak(low, high) -> float:
        return low + float(np.argmax(spectrum[low:high]))

    assert abs(peak(440, 500) - 440 * 2 ** (1 / 12)) <= 2 and abs(peak(270, 320) - 293.7) <= 2
    own = {pitch: (bend, latent) for pitch, bend, latent in final["expression"]}
    assert set(own) == {69} and own[69][0] == pytest.approx(170 / 8192 * 48)  # the wheel
    assert own[69][1][0] == pytest.approx(10 / 127, abs=1e-6)  # z0 by CC 74, on the 0-1 span


def test_a_keyboard_plugged_in_after_launch_is_played():
    with jack_dummy(48000), Synth("violin", 48000, keyboard=None) as synth:
        assert synth.wait_for(r"^MIDI in: (.+)$").group(1).startswith("none found")
        synth.wait_for(r"^ready in [\d.]+ s from launch")
        with open_keyboard() as keyboard:  # plugged in while the synth plays
            assert KEYBOARD in synth.wait_for(r"^MIDI in: (.+) \(plugged in after launch\)$",
                                              seconds=20).group(1)  # fmt: skip
            keyboard.send(mido.Message("note_on", note=62, velocity=100))
            synth.wait_for(r"^voices 1/8", seconds=20)
            keyboard.send(mido.Message("note_off", note=62))
            _, final = synth.stop()
    assert final["notes"] == []


def test_a_short_soak_of_midi_and_osc_events(tmp_path):
    """With MPE: notes on member channels with their own wheels, pressure and CC 74."""
    args = SimpleNamespace(rate=48000, seconds=5.0, events=600, probes=2, baseline_seconds=0,
                           seed=1, mpe=True, python_client=False)  # fmt: skip
    result = soak.soak_model("violin", args, tmp_path)
    assert "driver" in result["xruns"] and (tmp_path / "jackd_violin.log").exists()
    underruns = ring_underruns(result["summary"])
    assert underruns <= TOLERATED_UNDERRUNS, result["summary"]
    assert len(result["gaps"]) <= underruns and result["stuck"] == 0  # every gap counted
    assert result["final_ok"], (result["final"], result["last_sent"])
    callbacks = result["callbacks"]  # the synth's trace over the soak's 5 s
    assert callbacks["callbacks"] == pytest.approx(5.2 * 48000 / 256, rel=0.1), callbacks
    assert callbacks["ours"] + callbacks["server"] + callbacks["other"] == callbacks["underflows"]
    beside = result["sine_callbacks"]  # the sine player's, in its own process, the same window
    assert beside["callbacks"] == pytest.approx(callbacks["callbacks"], abs=3), beside
    shared = result["shared_underflows"]
    assert 0 <= shared <= min(callbacks["underflows"], beside["underflows"]), (shared, beside)
    assert any("OSC /nowhere: unknown address" in line for line in result["osc_bad"])
    ignored = re.search(r"OSC ignored (\d+): (.*)$", result["summary"])  # the final line counts
    assert ignored and re.search(r"/nowhere (\d+)", ignored.group(2)), result["summary"]
    each = [int(n) for n in re.findall(r" (\d+)(?:,|$)", ignored.group(2))]
    assert sum(each) == int(ignored.group(1))
    assert all(0 < ms < 500 for pair in (result["midi_latency_ms"], result["osc_latency_ms"])
               for ms in pair)  # fmt: skip
