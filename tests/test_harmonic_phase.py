"""Harmonic phase (a note model's voices in tune), the cut below 20 Hz, and the pYIN audit."""

import numpy as np
import pytest

from tests.helpers import WINDOW, overlap_add
from timbre_jax.analysis.embedding import latent_span
from timbre_jax.corpus.presets import Clip, Note
from timbre_jax.corpus.render import _new_synth, default_soundfont, render_clip
from timbre_jax.dsp.note_estimate import estimate_notes, note_templates
from timbre_jax.dsp.spectral import stft
from timbre_jax.errors import ParameterError
from timbre_jax.evaluation.pitch_audit import (
    Case,
    audit_run,
    hear,
    pad_points,
    render_held,
    rumble_db,
    summarise,
    trained_keys,
)
from timbre_jax.model.run import PRETRAINED_DIR, load_run
from timbre_jax.synth.engine import SynthEngine, default_phase
from timbre_jax.synth.harmonic_phase import (
    HarmonicPhase,
    lobe_reach,
    midi_to_hz,
    nearest_harmonics,
    shape_harmonics,
)
from timbre_jax.synth.phase import NoisePhase


def peak_hz(signal: np.ndarray, sample_rate: int = 44100) -> float:
    """The frequency of the strongest line of a long, finely zero-padded spectrum."""
    n = 1 << 21
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal)), n=n))
    return float(np.argmax(spectrum) * sample_rate / n)


def test_lobes_cover_each_harmonic_below_nyquist():
    owner = nearest_harmonics(1000.0, 2049, 4096, 44100, lobe_reach(1000.0, 4096, 44100))
    bins = np.flatnonzero(owner >= 0)
    harmonics = owner[bins]
    centres = (harmonics + 1) * 1000.0 * 4096 / 44100
    assert np.all(np.abs(bins - centres) < 2) and harmonics.max() == 21  # 22 kHz is above
    assert set(harmonics.tolist()) == set(range(22))


def bin_of(hz: float) -> int:
    return round(hz * 4096 / 44100)


def test_each_harmonic_gathers_its_energy_at_its_exact_frequency():
    flat = np.ones(2049, np.float32)
    shaped = shape_harmonics(flat, 440.0, n_fft=4096, sample_rate=44100)
    assert not shaped[: bin_of(60)].any()  # no residual under 60 Hz: no rumble
    # a quarter spacing either side of 440 Hz: 2 x 110 Hz of unit bins, now in one lobe
    lobe = shaped[bin_of(440) - 2 : bin_of(440) + 3]
    assert np.sum(lobe**2) == pytest.approx(2 * 110 / (44100 / 4096), rel=0.1)
    partial = np.zeros(2049, np.float32)
    partial[bin_of(1760 * 2 ** (-100 / 1200))] = 1.0  # A6 decoded a semitone flat
    shaped = shape_harmonics(partial, 1760.0, n_fft=4096, sample_rate=44100)
    assert np.argmax(shaped) == bin_of(1760) and np.sum(shaped**2) == pytest.approx(1.0)


def test_under_the_fundamental_the_residual_keeps_its_energy_but_never_drowns_the_note():
    for level, kept in ((0.1, 0.01), (10.0, 0.1)):  # a quiet lower partial, and a lower note
        mag = np.zeros(2049, np.float32)
        mag[bin_of(1760)] = 1.0  # A6 played, with a partial at E5 under it
        mag[bin_of(660)] = level
        shaped = shape_harmonics(mag, 1760.0, n_fft=4096, sample_rate=44100, residual_db=0)
        under = shaped[: bin_of(1760) - 2]
        # the quiet one as it was, the loud one 10 dB under the note's harmonics (energy 1)
        assert np.sum(under**2) == pytest.approx(kept, rel=0.05), level
        assert under.max() ** 2 < kept / 50  # spread over the spacing around it, as noise
        assert shaped[bin_of(1760) - 2 : bin_of(1760) + 3].max() > 0.5


def test_the_residual_is_spread_evenly_over_each_harmonic_spacing():
    flat = np.ones(2049, np.float32)
    shaped = shape_harmonics(flat, 440.0, n_fft=4096, sample_rate=44100, residual_db=-6.0)
    # half of each spacing lay between the harmonics: half its energy, 6 dB down, everywhere
    expected = 10 ** (-6 / 20) * np.sqrt(0.5)
    for hz in (500, 660, 800, 1100, 5000):
        assert shaped[bin_of(hz)] == pytest.approx(expected, rel=0.15), hz
    for f0 in (110.0, 440.0):  # a partial of the octave below, halfway between two harmonics
        octave_below = np.zeros(2049, np.float32)
        octave_below[bin_of(1.5 * f0)] = 1.0
        shaped = shape_harmonics(octave_below, f0, n_fft=4096, sample_rate=44100, residual_db=0)
        around = shaped[bin_of(1.25 * f0) : bin_of(1.75 * f0)]
        assert np.sum(shaped**2) == pytest.approx(1.0, rel=0.05), f0  # its energy is kept ...
        assert around.max() < 1.5 * around.min(), f0  # ... as noise over the spacing


def test_a_detuned_partial_sounds_at_the_exact_harmonic():
    nominal = 220.0
    t = np.arange(44100 * 2) / 44100
    detuned = np.sin(2 * np.pi * nominal * 2 ** (30 / 1200) * t).astype(np.float32)  # +30 cents
    mag = np.abs(np.asarray(stft(detuned, window=WINDOW)))
    locked = overlap_add(mag, HarmonicPhase(), f0=nominal)
    free = overlap_add(mag, NoisePhase())
    assert abs(peak_hz(locked) - nominal) < 0.2
    assert abs(peak_hz(free) - nominal) > 2.0  # noise phase keeps the decoded detuning


@pytest.fixture(scope="module")
def violin():
    return load_run(PRETRAINED_DIR / "violin")


def test_note_models_default_to_harmonic_phase_and_chroma_models_refuse_it(violin):
    chroma = load_run(PRETRAINED_DIR / "one_octave")
    assert default_phase(violin) == "harmonic" and default_phase(chroma) == "noise"
    engine = SynthEngine(chroma, voices=1)
    assert engine.phase == "noise" and "harmonic" not in engine.phase_methods
    with pytest.raises(ParameterError, match="harmonic needs a note model"):
        engine.set_phase("harmonic")


@pytest.mark.slow
def test_a_held_note_is_in_tune_by_pyin(violin):
    engine = SynthEngine(violin, voices=1)
    points = pad_points(3, 2, seed=16)  # drawn at random, not picked
    cases = [Case(tuple(z), p, "harmonic") for z, p in zip(points, (55, 69, 81), strict=True)]
    heard = [hear(render_held(engine, case, seconds=1.0), case.pitch, sample_rate=44100)
             for case in cases]  # fmt: skip
    summary = summarise(heard)
    assert summary["exact"] == 1.0 and summary["max_abs_cents"] <= 10, heard
    assert summary["max_rumble_db"] < -40


def test_nothing_below_20_hz_reaches_the_output():
    engine = SynthEngine(load_run(PRETRAINED_DIR / "one_octave"), voices=1, phase="noise")
    rumble = np.zeros((1, 2049), np.float32)
    # DC, 10.8, 21.5 and 32.3 Hz as loud as a partial at 441 Hz: the two bins above 20 Hz
    # leak below it through the window's main lobe under noise phase
    rumble[0, :4] = rumble[0, 41] = 1.0
    engine._decode = lambda latent, low, high, fraction: np.repeat(rumble, len(low), axis=0)
    audio = render_held(engine, Case((0.5, 0.5), 60, "noise"), seconds=1.0)
    assert peak_hz(audio) == pytest.approx(441.4, abs=1.0)
    assert rumble_db(audio, sample_rate=44100) < -40


@pytest.mark.slow
def test_pyin_and_the_estimator_agree_on_rendered_notes():
    synth, sfid = _new_synth(default_soundfont(), sample_rate=44100)
    templates = note_templates(sample_rate=44100, n_fft=4096)
    for program, pitch in ((0, 48), (40, 67), (73, 84)):  # piano C3, violin G4, flute C6
        clip = Clip("note", program, "train", (Note(pitch, 100, 0.0, 1.2),), 1.2)
        audio = render_clip(synth, sfid, clip, sample_rate=44100)
        frames = np.abs(np.asarray(stft(audio, window=WINDOW)))[4:-8]
        estimated = np.bincount(np.asarray(estimate_notes(frames, templates=templates))).argmax()
        heard = hear(audio[: round(1.2 * 44100)], pitch, sample_rate=44100)
        assert estimated == pitch and round(heard.heard) == pitch, (program, estimated, heard)


def test_midi_to_hz():
    np.testing.assert_allclose(midi_to_hz([69, 57, 81]), [440.0, 220.0, 880.0])


def test_voices_an_octave_apart_share_their_common_partials_coherently(violin):
    """C4's second harmonic and C5's fundamental are one oscillator: a chord sounds that
    partial at the sum of the voices' levels, whatever the seeds of their noise phase."""
    partial = np.zeros((1, 2049), np.float32)
    bin_c5 = midi_to_hz(72) * 4096 / 44100
    partial[0, int(bin_c5) - 1 : int(bin_c5) + 3] = 0.05  # a main lobe around 523.25 Hz
    levels = []
    for seed, chord in ((0, (72,)), (0, (60, 72)), (1, (60, 72)), (2, (60, 72))):
        engine = SynthEngine(violin, voices=2, phase="harmonic", seed=seed)
        engine._decode = lambda latent, low, high, fraction: np.repeat(partial, len(low), axis=0)
        for pitch in chord:
            engine.note_on(pitch)
        engine.render(0.5)
        levels.append(float(np.sqrt(np.mean(np.square(engine.render(0.5))))))
    single, chords = levels[0], np.asarray(levels[1:])
    np.testing.assert_allclose(chords, 2 * single, rtol=0.05)


def test_resynthesis_folds_notes_into_range_and_silences_unpitched_frames(violin):
    from timbre_jax.synth.resynthesis import resynthesize

    synth, sfid = _new_synth(default_soundfont(), sample_rate=44100)
    clip = Clip("note", 0, "train", (Note(36, 100, 0.0, 1.0),), 1.0)  # piano C2: below G3
    note = render_clip(synth, sfid, clip, sample_rate=44100)[:44100]
    hiss = 1e-3 * np.random.default_rng(0).standard_normal(44100).astype(np.float32)
    out = resynthesize(violin, np.concatenate([note, hiss]))
    heard = hear(out[:44100], 60, sample_rate=44100)  # the key folded up: C4, C5 or C6
    assert round(heard.heard) % 12 == 0, heard
    assert not np.any(out[44100 + 8192 :])  # hiss has no note: silence, not a decoded tone


@pytest.mark.slow
def test_the_grid_audit_holds_every_trained_key_at_the_pad_corners():
    chroma = load_run(PRETRAINED_DIR / "one_octave")  # C major: black keys never trained
    assert trained_keys(chroma) == [60, 62, 64, 65, 67, 69, 71, 72]  # C4-C5
    result = audit_run(chroma, grid=2, phases=["noise"], seconds=0.4)
    low, high = latent_span(chroma)
    corners = low + np.array([[0.05, 0.05], [0.05, 0.95], [0.95, 0.05], [0.95, 0.95]]) * (
        high - low
    )
    np.testing.assert_allclose(result["points"], corners, atol=1e-4)
    assert result["notes"] == trained_keys(chroma) and result["noise"]["cases"] == 4 * 8
