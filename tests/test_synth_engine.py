"""The engine on a trained decoder: determinism, continuity, voices, controls and errors.

Documented bound on discontinuities: after any control change (phase method, note, latent
jump, gain), the largest sample-to-sample step of the next 2048 samples is at most
`SWITCH_BOUND` times the largest step of the second of steady sound before the change.
"""

import numpy as np
import pytest

from timbre_jax.errors import ParameterError
from timbre_jax.model.run import PRETRAINED_DIR, load_run
from timbre_jax.synth.engine import RELEASE_SECONDS, SynthEngine, batch_size
from timbre_jax.synth.limiter import CEILING, Limiter
from timbre_jax.synth.voices import Voices

SWITCH_BOUND = 1.5


@pytest.fixture(scope="module")
def loaded(skip_run):
    return load_run(skip_run)


def playing(loaded, *notes, **kwargs) -> SynthEngine:
    """An engine sounding `notes` (MIDI pitches, default C4) at full level."""
    engine = SynthEngine(loaded, **kwargs)
    for note in notes or (60,):
        engine.note_on(note)
    engine.reset()
    return engine


def test_output_is_deterministic_for_a_seed(loaded):
    a, b = (playing(loaded, phase="rtpghi", seed=3).render(1.0) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (44100,) and a.dtype == np.float32 and 0.01 < np.abs(a).max() <= 1


def test_hop_boundaries_are_continuous(loaded):
    audio = playing(loaded).render(2.0)
    steps = np.abs(np.diff(audio))
    boundary = steps[1023::1024]  # from the last sample of a hop to the first of the next
    inside = np.delete(steps, np.arange(1023, len(steps), 1024))
    assert boundary.max() <= inside.max()


@pytest.mark.parametrize("change", [
    lambda e: e.set_phase("rtpghi"), lambda e: (e.note_off(60), e.note_on(67)),
    lambda e: e.set_latent([0.9, 0.1]), lambda e: e.set_gain(0.2),
])  # fmt: skip
def test_changes_while_playing_stay_within_the_bound(loaded, change):
    engine = playing(loaded)
    before = engine.render(1.0)
    change(engine)
    after = engine.render(0.5)
    audio = np.concatenate([before, after])
    steps = np.abs(np.diff(audio))
    assert steps[44099 : 44099 + 2048].max() <= SWITCH_BOUND * steps[:44099].max()


def test_stealing_a_voice_does_not_click(loaded):
    engine = playing(loaded, 60, 64, voices=2)
    before = engine.render(1.0)
    engine.note_on(67)  # no free voice: the oldest held one (C) is stolen
    after = engine.render(0.5)
    assert engine.controls.notes == ((64, 100), (67, 100))
    steps = np.abs(np.diff(np.concatenate([before, after])))
    assert steps[44099 : 44099 + 2048].max() <= SWITCH_BOUND * steps[:44099].max()


def test_gate_release_falls_to_silence(loaded):
    engine = playing(loaded)
    engine.render(0.5)
    engine.note_off(60)
    tail = engine.render(RELEASE_SECONDS + 0.2)  # the envelope ramps per hop: +1 hop
    assert np.abs(tail[-4096:]).max() == 0.0 and np.abs(tail[:1024]).max() > 0
    assert engine.tail_seconds() <= RELEASE_SECONDS + 0.2
    engine.note_on(60)
    assert np.abs(engine.render(0.1)[-1024:]).max() > 0


def test_controls_reach_the_decoder(loaded):
    engine = playing(loaded, 60)
    engine.render(0.2)
    c_spectrum = engine.last_magnitude.copy()
    engine.note_off(60)
    engine.note_on(67)
    engine.render(0.5)
    assert not np.allclose(c_spectrum, engine.last_magnitude)
    assert engine.hops == 9 + 22  # hops of 1024 samples since the reset: 0.2 s, then 0.5 s
    recent = engine.hop_seconds[: engine.hops]
    assert engine.timing() == {"median_ms": 1e3 * float(np.median(recent)),
                               "p99_ms": 1e3 * float(np.percentile(recent, 99))}  # fmt: skip


def test_a_chord_is_the_sum_of_its_notes(loaded):
    """Voices are independent: a chord's spectrum is the sum of its notes' spectra."""
    chord = playing(loaded, 60, 64, 67)
    chord.render(0.3)
    alone = []
    for note in (60, 64, 67):
        engine = playing(loaded, note)
        engine.render(0.3)
        alone.append(engine.last_magnitude)
    np.testing.assert_allclose(chord.last_magnitude, np.sum(alone, axis=0), rtol=1e-4, atol=1e-6)
    assert chord.sounding == 3


def test_eight_loud_voices_never_reach_full_scale():
    engine = SynthEngine(load_run(PRETRAINED_DIR / "one_octave"))  # louder than the tiny model
    engine.set_gain(1.0)
    for note in range(48, 88, 5):
        engine.note_on(note, 127)
    audio = engine.render(2.0)
    assert engine.sounding == 8 and engine.limiter.gain < 1.0  # the limiter had work to do
    assert 0.5 < np.abs(audio).max() < 1.0


def test_the_limiter_bends_only_what_is_too_loud():
    limiter = Limiter(hop_length=1024, sample_rate=44100)
    quiet = 0.5 * np.sin(np.arange(1024) / 5).astype(np.float32)
    np.testing.assert_array_equal(limiter(quiet), quiet)
    loud = [limiter(6 * quiet) for _ in range(20)]
    assert max(np.abs(hop).max() for hop in loud) < 1.0
    assert np.abs(loud[-1]).max() == pytest.approx(CEILING, rel=0.01)  # settled at -1 dBFS


def test_voice_allocation_steals_the_oldest():
    voices = Voices(2, attack_rate=1.0, release_rate=0.5)
    assert voices.note_on(60) == 0 and voices.note_on(64) == 1
    voices.step()
    voices.note_off(60)  # voice 0 releasing, voice 1 held
    assert voices.note_on(67) == 0  # the releasing voice goes before a held one
    assert voices.note_on(72) == 1  # then the oldest held one
    assert voices.held() == ((67, 100), (72, 100))
    assert voices.note_on(72, 50) == 1  # the same key again keeps its voice
    voices.note_off(67)
    voices.step()
    voices.step()
    assert voices.note_on(60) == 0  # silent again: free


def test_batch_sizes_are_powers_of_two():
    assert [batch_size(k, 8) for k in range(1, 9)] == [1, 2, 4, 4, 8, 8, 8, 8]
    assert batch_size(5, 6) == 6


@pytest.mark.parametrize("call, match", [
    (lambda e: e.set_latent([0.1]), "latent"), (lambda e: e.set_latent([0.1, np.nan]), "latent"),
    (lambda e: e.note_on(128), "MIDI pitch"), (lambda e: e.note_on(60, 0), "velocity"),
    (lambda e: e.set_gain(1.5), "gain"),
    (lambda e: e.set_phase("griffin-lim"), "phase"),
])  # fmt: skip
def test_bad_controls_are_named(loaded, call, match):
    with pytest.raises(ParameterError, match=match):
        call(SynthEngine(loaded))
