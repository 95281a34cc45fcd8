"""The engine on a trained decoder: determinism, continuity, controls and errors.

Documented bound on discontinuities: after any control change (phase method, note, latent
jump, gain), the largest sample-to-sample step of the next 2048 samples is at most
`SWITCH_BOUND` times the largest step of the second of steady sound before the change.
"""

import numpy as np
import pytest

from timbre_jax.errors import ParameterError
from timbre_jax.synth.engine import RELEASE_SECONDS, SynthEngine
from timbre_jax.training.run import load_run

SWITCH_BOUND = 1.5


@pytest.fixture(scope="module")
def loaded(skip_run):
    return load_run(skip_run)


def test_output_is_deterministic_for_a_seed(loaded):
    a, b = (SynthEngine(loaded, phase="rtpghi", seed=3).render(1.0) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (44100,) and a.dtype == np.float32 and 0.01 < np.abs(a).max() <= 1


def test_hop_boundaries_are_continuous(loaded):
    audio = SynthEngine(loaded).render(2.0)
    steps = np.abs(np.diff(audio))
    boundary = steps[1023::1024]  # from the last sample of a hop to the first of the next
    inside = np.delete(steps, np.arange(1023, len(steps), 1024))
    assert boundary.max() <= inside.max()


@pytest.mark.parametrize("change", [
    lambda e: e.set_phase("rtpghi"), lambda e: e.set_note(7),
    lambda e: e.set_latent([0.9, 0.1]), lambda e: e.set_gain(0.2),
])  # fmt: skip
def test_changes_while_playing_stay_within_the_bound(loaded, change):
    engine = SynthEngine(loaded)
    before = engine.render(1.0)
    change(engine)
    after = engine.render(0.5)
    audio = np.concatenate([before, after])
    steps = np.abs(np.diff(audio))
    assert steps[44099 : 44099 + 2048].max() <= SWITCH_BOUND * steps[:44099].max()


def test_gate_release_falls_to_silence(loaded):
    engine = SynthEngine(loaded)
    engine.render(0.5)
    engine.set_gate(False)
    tail = engine.render(RELEASE_SECONDS + 0.2)  # the envelope ramps per hop: +1 hop
    assert np.abs(tail[-4096:]).max() == 0.0 and np.abs(tail[:1024]).max() > 0
    engine.set_gate(True)
    assert np.abs(engine.render(0.1)[-1024:]).max() > 0


def test_controls_reach_the_decoder(loaded):
    engine = SynthEngine(loaded)
    engine.set_note(0)
    engine.render(0.2)
    c_spectrum = engine.last_magnitude.copy()
    engine.set_note(7)
    engine.render(0.2)
    assert not np.allclose(c_spectrum, engine.last_magnitude)
    assert engine.timing()["median_ms"] > 0 and engine.hops > 0


@pytest.mark.parametrize("call, match", [
    (lambda e: e.set_latent([0.1]), "latent"), (lambda e: e.set_latent([0.1, np.nan]), "latent"),
    (lambda e: e.set_note(12), "note"), (lambda e: e.set_gain(1.5), "gain"),
    (lambda e: e.set_phase("griffin-lim"), "phase"),
])  # fmt: skip
def test_bad_controls_are_named(loaded, call, match):
    with pytest.raises(ParameterError, match=match):
        call(SynthEngine(loaded))
