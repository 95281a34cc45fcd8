"""The session: controls from any source applied atomically at the next hop, takes stamped
with the hop that applied them and replayed sample for sample, takes never overwritten."""

import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from timbre_jax.errors import ParameterError
from timbre_jax.model.run import PRETRAINED_DIR, load_run
from timbre_jax.render import main as render_main
from timbre_jax.synth.automation import (
    PlayedWith,
    read_automation,
    render_automation,
    write_automation,
)
from timbre_jax.synth.engine import Controls, SynthEngine
from timbre_jax.synth.session import Session, next_take_number


@pytest.fixture(scope="module")
def violin():
    return load_run(PRETRAINED_DIR / "violin")


@pytest.fixture
def session(violin, tmp_path):
    return Session(violin, SynthEngine(violin), record_dir=tmp_path)


def test_a_change_is_applied_at_the_next_hop(session):
    session.note_on(67, 90)
    session.set_axis(1, 0.25)
    assert session.engine.controls.notes == ()  # nothing reaches the engine between hops
    session.next_hop()
    assert session.engine.controls.notes == ((67, 90),)
    assert session.engine.controls.latent[1] == 0.25 and session.applied.latent[1] == 0.25


def test_a_key_pressed_and_released_within_a_hop_still_sounds_one_hop(session):
    session.note_on(67)
    session.note_off(67)
    assert session.peek().notes == ()  # up, as the player left it
    session.next_hop()
    assert session.applied.notes == ((67, 100),) and session.engine.sounding == 1
    session.next_hop()
    assert session.applied.notes == ()


def test_the_pedal_holds_released_keys_until_it_goes_up(session):
    session.set_sustain(True)
    session.note_on(60)
    session.next_hop()
    session.note_off(60)
    session.note_on(64)
    assert session.peek().notes == ((60, 100), (64, 100))
    session.set_sustain(False)
    assert session.peek().notes == ((64, 100),)


def test_all_sound_off_cuts_at_once_and_all_notes_off_releases(session):
    session.note_on(60)
    session.render(0.2)
    session.all_notes_off()
    session.next_hop()
    assert session.engine.voices.envelope.max() > 0  # releasing
    session.note_on(62)
    session.render(0.1)
    session.all_sound_off()
    session.next_hop()
    assert session.engine.voices.envelope.max() == 0 and session.peek().notes == ()


def test_a_held_key_is_in_every_snapshot_while_another_thread_plays(session):
    """A source presses keys (each press of a held key moves it to the end of the order, a
    remove and an insert) while the producer takes snapshots: every snapshot has the held
    key, once. Without the targets' lock a snapshot between the two sees the key missing (or
    the notes change size while it reads them)."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns every few bytecodes: races show at once
    stop, snapshots = threading.Event(), []

    def play():
        while not stop.is_set():
            session.note_on(60)
            session.note_on(64)
            session.note_off(64)

    session.note_on(60)
    player = threading.Thread(target=play)
    player.start()
    try:
        deadline = time.perf_counter() + 1.0
        while time.perf_counter() < deadline:
            snapshots.append(session.snapshot().notes)
    finally:
        stop.set()
        player.join()
        sys.setswitchinterval(switch)
    pitches = [[pitch for pitch, _ in notes] for notes in snapshots]
    assert len(snapshots) > 1000 and all(p.count(60) == 1 for p in pitches)


def test_bad_values_are_refused_with_their_name(session):
    for call, message in [
        (lambda: session.set_axis(2, 0.5), "latent axis must be 0-1"),
        (lambda: session.set_axis(0, float("nan")), "z0 must be finite"),
        (lambda: session.set_gain(1.5), "gain must be in"),
        (lambda: session.set_phase("granular"), "phase must be one of"),
        (lambda: session.note_on(128), "MIDI pitch 0-127"),
        (lambda: session.note_on(60, 0), "velocity must be 1-127"),
    ]:
        with pytest.raises(ParameterError, match=message):
            call()


def play_script(session, script: dict, hops: int) -> None:
    """Calls script[k]() before hop k, as sources would between hops."""
    for k in range(hops):
        if k in script:
            script[k]()
        session.next_hop()


def test_a_streamed_take_replays_sample_for_sample(session, violin, tmp_path):
    session.note_on(62)  # sounding when Record is pressed: the take waits for silence
    play_script(session, {}, 5)
    session.start_recording(streamed=True)
    assert session.recording == "armed"
    session.note_off(62)
    play_script(session, {}, 30)  # the release rings out, then the take starts
    assert session.recording == "on"
    script = {
        3: lambda: session.note_on(67, 90),
        5: lambda: session.set_bend(3001 / 8192 * 2),  # a pitch wheel's value, +-2 semitones
        7: lambda: (session.set_vibrato(50 * 90 / 127), session.set_vibrato_rate(6.25)),
        8: lambda: session.set_axis(0, 37 / 127),  # a MIDI CC's value: no short decimal
        9: lambda: (session.set_note_axis(67, 1, 0.8), session.set_note_bend(67, 0.37)),
        10: lambda: session.set_bend(-0.25),
        11: lambda: (session.note_on(71, 60), session.note_off(71)),  # within one hop
        14: lambda: session.set_phase("rtpghi"),
        20: lambda: (session.set_sustain(True), session.note_off(67), session.note_on(74)),
        26: lambda: (session.set_sustain(False), session.set_gain(0.12345)),  # an OSC fader
        31: lambda: session.set_phase("noise"),
        40: session.all_notes_off,
        42: lambda: (
            session.set_phase("harmonic"),
            session.set_legato(True),
            session.set_glide(0.05),
            session.note_on(64),
        ),  # fmt: skip
        45: lambda: session.note_on(66, 70),  # moves the note, no attack
        47: lambda: session.note_off(64),  # a key held, not sounding
        48: lambda: (session.note_on(69), session.note_off(66)),  # within one hop: still legato
        50: lambda: (session.set_legato(False), session.note_on(62)),
        53: session.all_notes_off,
    }
    play_script(session, script, 60)
    wav, csv = session.stop_recording().result()
    take, _ = sf.read(wav, dtype="float32")
    rows, voices = read_automation(csv, 2)
    assert {c.phase for _, c in rows} == {"harmonic", "rtpghi", "noise"}
    assert ((64, 100), (66, 70)) in {c.notes for _, c in rows if c.legato}
    assert {c.bend for _, c in rows} == {0.0, 3001 / 8192 * 2, -0.25}
    assert ((67, 0.37, (37 / 127, 0.8)),) in {c.expression for _, c in rows}  # from z0 then
    hop = session.engine.hop_length
    assert len(take) % hop == 0 and 60 * hop < len(take) < 90 * hop  # from the silence on
    assert np.abs(take[:hop]).max() == 0
    assert np.abs(take).max() > 0.05
    out = tmp_path / "replay.wav"
    assert render_main(["--model", "violin", "--automation", str(csv), "--out", str(out)]) == 0
    replay, _ = sf.read(out, dtype="float32")
    np.testing.assert_array_equal(replay[: len(take)], take)  # both 16-bit WAVs


def test_takes_are_numbered_after_the_highest_in_the_folder(session, tmp_path):
    (tmp_path / "take_4.wav").write_bytes(b"earlier")
    (tmp_path / "take_2.csv").write_text("earlier")
    assert next_take_number(tmp_path) == 5
    session.start_recording(streamed=False)
    session.note_on(67)
    wav, csv = session.stop_recording().result()
    assert (wav.name, csv.name) == ("take_5.wav", "take_5.csv")
    assert (tmp_path / "take_4.wav").read_bytes() == b"earlier"
    assert next_take_number(tmp_path) == 6


def test_a_streamed_take_is_written_while_it_plays(session, tmp_path):
    """The worker appends each hop to the WAV as it comes: the audio is on disk before the
    take stops, not held in memory until then."""
    session.start_recording(streamed=True)
    session.note_on(62)
    play_script(session, {}, 200)
    wav = tmp_path / "take_1.wav"
    deadline = time.perf_counter() + 10
    while (size := wav.stat().st_size if wav.exists() else 0) < 200 * 1024 * 2:
        assert time.perf_counter() < deadline, f"{size} bytes of 200 hops written"
        time.sleep(0.01)
    assert session.recording == "on"
    written, _ = session.stop_recording().result()
    assert sf.info(written).frames == 200 * session.hop_length


def test_a_take_that_never_started_writes_nothing(session, tmp_path):
    session.note_on(60)
    session.next_hop()
    session.start_recording(streamed=True)
    play_script(session, {}, 3)  # the note holds: no silence to start at
    assert session.stop_recording().result() is None and not list(tmp_path.iterdir())


def test_more_notes_than_voices_steal_once_and_replay(violin, tmp_path):
    """Four keys held on three voices: the oldest is stolen once and stays stolen (it does not
    take a voice back every hop). All sound off cuts the chord mid-note, a key plays after it;
    the take records both and its voices, and replays with no --voices to the same samples."""
    session = Session(violin, SynthEngine(violin, voices=3), record_dir=tmp_path)
    session.start_recording(streamed=True)
    for k, pitch in enumerate((60, 64, 67, 71)):
        session.note_on(pitch)
        play_script(session, {}, 2 + k)
    sounding = []
    for _ in range(6):
        session.next_hop()
        voices = session.engine.voices
        sounding.append(sorted(voices.pitch[voices.gated].tolist()))
        assert not voices.fresh.any()
    assert sounding == [[64, 67, 71]] * 6
    session.all_sound_off()
    play_script(session, {3: lambda: session.note_on(62)}, 8)
    session.all_notes_off()
    play_script(session, {}, 4)
    wav, csv = session.stop_recording().result()
    take, _ = sf.read(wav, dtype="float32")
    rows, played = read_automation(csv, 2)
    assert played.voices == 3 and [c.cut for _, c in rows].count(True) == 1
    out = tmp_path / "replay.wav"
    argv = ["--model", "violin", "--automation", str(csv), "--out", str(out)]
    assert render_main(argv) == 0
    np.testing.assert_array_equal(sf.read(out, dtype="float32")[0][: len(take)], take)
    # a cut replayed as a release (as before the cut column) would not be the take
    released = tmp_path / "released.csv"
    write_automation(released, [(t, c._replace(cut=False)) for t, c in rows], 2, played)
    assert render_main([*argv[:3], str(released), "--out", str(tmp_path / "r.wav")]) == 0
    assert not np.array_equal(sf.read(tmp_path / "r.wav", dtype="float32")[0][: len(take)], take)


def test_an_offline_take_keeps_all_sound_off_and_its_voices(session):
    session.start_recording(streamed=False)
    session.note_on(67)
    session.all_sound_off()
    session.note_on(69)
    _, csv = session.stop_recording().result()
    rows, played = read_automation(csv, 2)
    assert [c.cut for _, c in rows].count(True) == 1 and rows[-1][1].notes == ((69, 100),)
    assert played == PlayedWith(session.engine.voices.count, session.engine.between_notes)


def test_a_take_replays_with_the_decoding_between_notes_it_was_played_with(violin, tmp_path):
    """A bend between two trained notes decodes the nearer note's frame on this engine: the
    take says so, and replays only so."""
    session = Session(violin, SynthEngine(violin, between_notes="nearest"), record_dir=tmp_path)
    session.start_recording(streamed=True)
    play_script(session, {1: lambda: session.note_on(69), 4: lambda: session.set_bend(0.4)}, 16)
    wav, csv = session.stop_recording().result()
    take, _ = sf.read(wav, dtype="float32")
    rows, played = read_automation(csv, 2)
    assert played.between_notes == "nearest" and {c.bend for _, c in rows} == {0.0, 0.4}
    argv = ["--model", "violin", "--automation", str(csv)]
    replays = {}
    for between in (None, "blend"):
        out = tmp_path / f"{between}.wav"
        flag = ["--between-notes", between] if between else []
        assert render_main([*argv, *flag, "--out", str(out)]) == 0
        replays[between] = sf.read(out, dtype="float32")[0][: len(take)]
    np.testing.assert_array_equal(replays[None], take)
    assert not np.array_equal(replays["blend"], take)


def test_a_take_that_starts_on_all_sound_off_and_a_key_replays(session, tmp_path):
    """Armed on silence, the take's first hop cuts and plays a key: the engine is reset once,
    after the controls, as render --automation does."""
    session.start_recording(streamed=True)
    session.all_sound_off()
    session.note_on(67)
    play_script(session, {6: session.all_notes_off}, 40)
    wav, csv = session.stop_recording().result()
    take, _ = sf.read(wav, dtype="float32")
    assert np.abs(take).max() > 0.05
    out = tmp_path / "replay.wav"
    assert render_main(["--model", "violin", "--automation", str(csv), "--out", str(out)]) == 0
    np.testing.assert_array_equal(sf.read(out, dtype="float32")[0][: len(take)], take)


def test_all_sound_off_with_a_key_on_two_hops_in_a_row_replays(session, tmp_path):
    """Each cut is a row of its own, even when the controls do not change between them."""
    session.start_recording(streamed=True)
    session.note_on(67)
    cut_and_strike = lambda: (session.all_sound_off(), session.note_on(67))  # noqa: E731
    play_script(session, {10: cut_and_strike, 11: cut_and_strike, 20: session.all_notes_off}, 50)
    wav, csv = session.stop_recording().result()
    rows, _ = read_automation(csv, 2)
    assert [c.cut for _, c in rows].count(True) == 2
    out = tmp_path / "replay.wav"
    assert render_main(["--model", "violin", "--automation", str(csv), "--out", str(out)]) == 0
    take = sf.read(wav, dtype="float32")[0]
    np.testing.assert_array_equal(sf.read(out, dtype="float32")[0][: len(take)], take)


def test_a_cut_in_the_last_rows_hop_still_cuts(violin):
    """An offline take stopped within a hop of all sound off ends on the cut, not a release."""
    latent, end = (0.5, 0.5), 40 * 1024 / 44100
    held = (0.0, Controls(latent, 0.8, ((67, 100),)))
    tails = {}
    for cut in (True, False):
        last = (end, Controls(latent, 0.8, (), cut=cut))
        tails[cut] = render_automation(SynthEngine(violin), [held, last])[40 * 1024 :]
    hop = 1024
    cut_level = np.abs(tails[True][3 * hop : 8 * hop]).max()
    released_level = np.abs(tails[False][3 * hop : 8 * hop]).max()
    assert released_level > 0.01 and cut_level < 0.1 * released_level
