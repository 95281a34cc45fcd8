"""Expression: pitch bend and vibrato, heard under the harmonic phase of a note model and
measured by pYIN on audio rendered offline; what they do elsewhere."""

import dataclasses

import librosa
import numpy as np
import pytest

from timbre_jax.errors import ParameterError
from timbre_jax.model.run import PRETRAINED_DIR, load_run
from timbre_jax.synth.engine import SynthEngine, modulation_gain
from timbre_jax.synth.session import Session

A4 = 69


@pytest.fixture(scope="module")
def violin():
    return load_run(PRETRAINED_DIR / "violin")


def cents_track(audio, sample_rate=44100) -> np.ndarray:
    """pYIN's pitch every 10 ms in cents from A4 (NaN where unvoiced)."""
    f0, voiced, _ = librosa.pyin(audio, fmin=300, fmax=700, sr=sample_rate, frame_length=2048,
                                 hop_length=441)  # fmt: skip
    return np.where(voiced, 1200 * np.log2(f0 / 440.0), np.nan)


def test_a_held_bend_sounds_its_pitch(violin):
    engine = SynthEngine(violin)
    engine.note_on(A4)
    engine.reset()
    heard = {}
    for bend in (0.0, 2.0, -1.0, 0.5):
        engine.set_bend(bend)
        cents = cents_track(engine.render(0.6))[20:]  # past the glide and the frames before
        heard[bend] = float(np.nanmedian(cents))
    assert all(abs(heard[b] - 100 * b) <= 10 for b in heard), heard


def test_vibrato_has_the_rate_and_depth_set(violin):
    engine = SynthEngine(violin)
    engine.note_on(A4)
    engine.set_vibrato(50)
    engine.set_vibrato_rate(5.5)
    engine.reset()
    cents = cents_track(engine.render(3.0))[30:270]
    t = np.arange(len(cents))[np.isfinite(cents)] * 0.01
    cents = cents[np.isfinite(cents)] - np.median(cents[np.isfinite(cents)])
    spectrum = np.abs(np.fft.rfft(cents * np.hanning(len(cents)), 1 << 14))
    rate = np.fft.rfftfreq(1 << 14, 0.01)[np.argmax(spectrum)]
    basis = np.stack([np.sin(2 * np.pi * rate * t), np.cos(2 * np.pi * rate * t)], 1)
    depth = np.hypot(*np.linalg.lstsq(basis, cents, rcond=None)[0])
    assert abs(rate - 5.5) <= 0.05 * 5.5 and abs(depth - 50) <= 0.05 * 50, (rate, depth)


def bent_frames(run, between_notes: str, semitones: float, residual: float = -60.0) -> np.ndarray:
    """[hops, n_bins] what A4 decodes to as the pitch wheel bends it by `semitones` in 1 s, with
    the residual at `residual` dB (low, so that the frames compared are the decoder's
    harmonics: the residual's noise moves with the decoder's output between them)."""
    engine = SynthEngine(run, between_notes=between_notes)
    engine.set_residual(residual)
    engine.note_on(A4)
    engine.reset()
    frames = []
    for k in range(44):
        engine.set_bend(semitones * k / 43)
        engine.next_hop()
        frames.append(engine.last_magnitude)
    return np.array(frames)


def test_between_two_notes_the_timbre_moves_smoothly(violin):
    jumps = {}
    for how in ("blend", "frames", "nearest"):
        power = np.square(bent_frames(violin, how, 2.0)[8:]).T
        mel = librosa.feature.melspectrogram(S=power, sr=44100, n_fft=4096)
        mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)[1:]
        jumps[how] = np.linalg.norm(np.diff(mfcc, axis=1), axis=0).max()  # per hop
    assert jumps["blend"] < 0.6 * jumps["nearest"] and jumps["frames"] < 0.6 * jumps["nearest"]


def test_a_blend_at_a_whole_semitone_is_that_note(violin):
    heard = []
    for note, bend in ((A4, 1.0), (A4 + 1, 0.0)):
        engine = SynthEngine(violin)
        engine.note_on(note)
        engine.set_bend(bend)
        engine.render(0.5)  # the bend is there
        heard.append(engine.last_magnitude)
    assert np.allclose(*heard, rtol=1e-4, atol=1e-6)


def test_a_bend_decodes_from_trained_notes_only(violin):
    notes = [n for n in violin.trained_notes if n != A4 + 1]  # A#4 untrained
    gapped = dataclasses.replace(violin, meta={**violin.meta, "trained_notes": notes})
    engine = SynthEngine(gapped)
    decode, asked = engine._decode, []

    def recorded(latent, low, high, fraction):
        asked.append((int(low[0]), int(high[0]), float(fraction[0])))
        return decode(latent, low, high, fraction)

    engine._decode = recorded
    engine.note_on(A4)
    engine.set_bend(1.0)  # onto A#4: halfway between A4 and B4, both trained
    engine.render(0.5)
    assert asked[-1] == (A4, A4 + 2, 0.5)
    engine.set_bend(2.0)
    engine.render(0.5)
    assert asked[-1] == (A4 + 2, A4 + 3, 0.0)  # on B4: B4's own vector


@pytest.mark.parametrize("between_notes", ["blend", "frames"])
def test_nothing_compiles_while_an_odd_number_of_voices_bend(violin, between_notes):
    engine = SynthEngine(violin, voices=3, between_notes=between_notes)
    compiled = engine._decode._cache_size()
    for pitch in (62, 66, 69):
        engine.note_on(pitch)
    engine.set_bend(0.5)
    engine.render(0.3)
    assert engine.sounding == 3 and engine._decode._cache_size() == compiled


def test_the_overlap_add_keeps_slow_pitch_moves_and_smooths_fast_ones():
    window = np.hanning(4096)
    gains = [modulation_gain(window, hz, 44100) for hz in (0.0, 5.5, 11.0)]
    assert gains[0] == pytest.approx(1.0) and gains[0] > gains[1] > gains[2]
    assert 0.85 < gains[1] < 0.95  # what the engine deepens a 5.5 Hz vibrato by


@pytest.mark.parametrize("model, phase", [
    ("violin", "noise"),
    pytest.param("one_octave", "noise", marks=pytest.mark.slow),
    pytest.param("violin", "rtpghi", marks=pytest.mark.slow),
])  # fmt: skip
def test_without_the_harmonic_phase_a_bend_changes_nothing_and_says_so(model, phase):
    """A chroma model has no fundamental to bend, and noise or RTPGHI phase plays the decoded
    frames as they are: the notes sound unbent, and the session says so once."""
    run = load_run(PRETRAINED_DIR / model)
    plain, bent = (Session(run, SynthEngine(run, phase=phase)) for _ in range(2))
    for session in (plain, bent):
        session.note_on(60)
    bent.set_bend(1.5)
    bent.set_vibrato(30)
    np.testing.assert_array_equal(plain.render(0.5), bent.render(0.5))
    assert bent.news() == ["pitch bend and vibrato sound only with harmonic phase "
                           "(a note model's): the notes play unbent"]  # fmt: skip
    assert bent.news() == [] and plain.news() == []


def test_bends_and_vibrato_out_of_range_are_refused(violin):
    session = Session(violin, SynthEngine(violin))
    for call, message in [
        (lambda: session.set_bend(49), "bend must be within"),
        (lambda: session.set_bend(float("nan")), "bend must be within"),
        (lambda: session.set_vibrato(-1), "vibrato depth must be 0-100"),
        (lambda: session.set_vibrato_rate(0), "vibrato rate must be"),
    ]:
        with pytest.raises(ParameterError, match=message):
            call()


def test_glide_slides_a_new_note_from_the_one_before(violin):
    engine = SynthEngine(violin, voices=1)
    engine.set_glide(0.3)
    engine.note_on(A4)
    engine.reset()
    held = engine.render(0.5)
    engine.note_off(A4)
    engine.note_on(A4 + 2)  # B4: slides up from A4 in 0.3 s
    cents = cents_track(np.concatenate([held, engine.render(1.0)]))[50:]  # from B4's press
    at = {t: float(np.nanmedian(cents[t - 2 : t + 3])) for t in (7, 20, 30, 70)}  # 10 ms steps
    assert at[7] < 60 and 60 < at[20] < 160 and at[30] < 195 and abs(at[70] - 200) <= 10, at
    engine.set_glide(0.0)
    engine.note_on(A4)  # no glide: A4 at once (within the 46 ms a frame's centre takes)
    cents = cents_track(engine.render(0.5))
    assert abs(float(np.nanmedian(cents[8:20]))) <= 10


def test_legato_moves_one_voice_to_the_new_key_without_an_attack(violin):
    """A key pressed while A4 is held moves A4's voice to B4 (one voice sounds throughout),
    sliding by the glide with its oscillators running on: the level dips no more than under
    a pitch wheel's bend (it dipped to 0.28x with the oscillators restarted at B4's phases);
    releasing B4 goes back to A4, still held."""
    engine = SynthEngine(violin)
    engine.set_legato(True)
    engine.set_glide(0.15)
    engine.note_on(A4)
    engine.reset()
    held = engine.render(0.5)
    engine.note_on(A4 + 2)
    hops, sounding = [], []
    for _ in range(40):
        hops.append(engine.next_hop())
        sounding.append(engine.sounding)
    moved = np.concatenate(hops)
    assert set(sounding) == {1} and engine.controls.notes == ((A4, 100), (A4 + 2, 100))
    engine.note_off(A4 + 2)
    back = engine.render(0.6)
    cents = cents_track(np.concatenate([held, moved, back]))
    assert abs(np.nanmedian(cents[80:90]) - 200) <= 10 and abs(np.nanmedian(cents[140:])) <= 10
    level = np.sqrt(np.convolve(np.concatenate([held, moved]) ** 2, np.ones(441) / 441, "same"))
    assert level[20000:40000].min() > 0.5 * np.median(level[20000:40000])
    engine.note_off(A4)
    assert engine.controls.notes == () and engine.voices.key_down.sum() == 0


def test_a_legato_line_goes_back_to_the_last_key_still_held(violin):
    voices = SynthEngine(violin).voices
    voices.set_legato(True)
    v = voices.note_on(60)
    assert voices.note_on(64) == v and voices.note_on(67) == v and voices.moved[v]
    voices.note_off(67)
    assert voices.pitch[v] == 64 and voices.glide_from[v] == 67
    voices.note_off(60)  # held, not sounding: the line goes on at 64
    assert voices.pitch[v] == 64 and voices.held() == ((64, 100),)
    voices.note_off(64)
    assert not voices.gated.any() and voices.held() == ()
    assert voices.note_on(62) != v or voices.fresh[v]  # a new line starts with an attack


def test_two_held_notes_sound_two_timbres(violin):
    """Each voice decodes at its own latent point in the one batched call: a chord of A4 at
    one corner of the pad and E5 at the other is the sum of each note played alone there,
    and the two differ from the pair played at one point."""
    corners = {A4: (0.1, 0.9), A4 + 7: (0.9, 0.1)}
    chord = SynthEngine(violin)
    for pitch, corner in corners.items():
        chord.note_on(pitch)
        chord.set_expression(pitch, 0.0, corner)
    chord.reset()
    chord.render(0.3)
    alone = []
    for pitch, corner in corners.items():
        engine = SynthEngine(violin)
        engine.set_latent(corner)
        engine.note_on(pitch)
        engine.reset()
        engine.render(0.3)
        alone.append(engine.last_magnitude)
    np.testing.assert_allclose(chord.last_magnitude, np.sum(alone, axis=0), rtol=1e-4, atol=1e-6)
    shared = SynthEngine(violin)
    shared.set_latent(corners[A4])
    for pitch in corners:
        shared.note_on(pitch)
    shared.reset()
    shared.render(0.3)
    assert not np.allclose(shared.last_magnitude, chord.last_magnitude, rtol=0.05)


def test_a_notes_own_bend_is_heard_on_it_alone(violin):
    engine = SynthEngine(violin, voices=2)
    engine.note_on(A4)
    engine.note_on(A4 - 12)  # A3 beside it, unbent
    engine.set_expression(A4, 1.0, ())
    engine.reset()
    audio = engine.render(1.2)[13230:]  # from 0.3 s
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), 44100))  # bins of 1 Hz

    def peak(low, high) -> float:
        return low + float(np.argmax(spectrum[low:high]))

    assert abs(peak(400, 520) - 440 * 2 ** (1 / 12)) <= 2  # A4 up a semitone: 466.2 Hz
    assert abs(peak(180, 260) - 220) <= 2  # A3 where it was


def test_the_residual_is_heard_between_the_harmonics(violin):
    """More residual, more of the decoded frame between A4's harmonics (bow noise, which the
    violin decodes at this corner of the pad; at the centre it decodes none)."""
    between = {}
    for db in (-60.0, 0.0):
        engine = SynthEngine(violin)
        engine.set_latent((0.1, 0.1))
        engine.set_residual(db)
        engine.note_on(A4)
        engine.reset()
        audio = engine.render(1.2)[13230:]
        spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), 44100))  # 1 Hz bins
        between[db] = float(np.sum(spectrum[600:800] ** 2))  # between 440 and 880 Hz
    assert between[0.0] > 1e5 * between[-60.0]  # 60 dB more power


def test_a_key_struck_again_after_it_died_away_is_a_new_note():
    """A silent voice taken again by its own key starts a new note (its old expression and
    latent point gone, a glide from the note before); one still ringing continues."""
    from timbre_jax.synth.voices import Voices

    voices = Voices(2, attack_rate=1.0, release_rate=0.5)
    voices.note_on(60)
    voices.note_on(64)
    for pitch in (60, 64):
        voices.note_off(pitch)
    for _ in range(3):
        voices.step()  # both released and faded out
    v = voices.note_on(60)
    assert voices.fresh[v] and voices.glide_from[v] == 64
    voices.step()
    voices.note_off(60)
    voices.step()  # releasing, still heard
    assert not voices.fresh[voices.note_on(60)]


def test_takes_from_every_earlier_header_still_read(tmp_path):
    from timbre_jax.synth.automation import automation_header, read_automation

    header = automation_header(2)
    for width in range(len(header) - 9, len(header) + 1):
        path = tmp_path / f"take_{width}.csv"
        row = ["0.0", "0.5", "0.5", "0.8", "69:100", *[""] * (width - 5)]
        path.write_text(",".join(header[:width]) + "\n" + ",".join(row) + "\n")
        rows, _ = read_automation(path, 2)
        assert rows[0][1].notes == ((69, 100),), width
