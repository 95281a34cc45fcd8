"""The pitch term's cross-entropy (training/pitch_loss.py): all 88 notes against the pressed
class's octaves only."""

import jax
import jax.numpy as jnp
import numpy as np

from timbre_jax.dsp.chroma import MIDI_LOW
from timbre_jax.dsp.note_estimate import note_templates
from timbre_jax.model.conditioning import condition_of_pitches
from timbre_jax.training.pitch_loss import (
    acceptable_notes,
    class_notes,
    template_cross_entropy,
)

TEMPLATES = jnp.asarray(note_templates(sample_rate=44100, n_fft=4096))


def harmonic_frame(pitch: int, harmonics=range(1, 11)) -> np.ndarray:
    """[2049] a magnitude frame with the given harmonics of MIDI `pitch` at 1/h."""
    frame = np.zeros(2049, np.float32)
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    for h in harmonics:
        frame[round(h * f0 * 4096 / 44100)] = 1.0 / h
    return frame


def cross_entropy(frames, pressed, *, octaves_only: bool):
    condition = jnp.asarray(condition_of_pitches(np.array(pressed), "note"))
    rivals = class_notes(condition) if octaves_only else None
    return template_cross_entropy(jnp.asarray(frames), acceptable_notes(condition),
                                  templates=TEMPLATES, temperature=0.05, rivals=rivals)  # fmt: skip


def test_class_notes_are_the_octaves_of_the_pressed_class():
    rivals = np.asarray(class_notes(jnp.asarray(condition_of_pitches(np.array([61]), "note"))))
    np.testing.assert_array_equal(np.flatnonzero(rivals[0]) + MIDI_LOW, np.arange(25, 109, 12))


def test_both_terms_penalise_a_missing_fundamental_and_only_the_full_one_all_classes():
    right = np.stack([harmonic_frame(48)] * 2)
    octave_up = np.stack([harmonic_frame(48, harmonics=range(2, 11, 2))] * 2)  # even only
    fifth = np.stack([harmonic_frame(55)] * 2)  # G3: the fifth above, another class
    pressed = [48, 48]
    for octaves_only in (False, True):
        assert cross_entropy(right, pressed, octaves_only=octaves_only) < 0.1
        assert cross_entropy(octave_up, pressed, octaves_only=octaves_only) > 1.0
    # G3's partials are C2's harmonics 3, 6, 9: the octaves term blames C2 for them, the full
    # term G3 as well, which it scores higher still
    full = cross_entropy(fifth, pressed, octaves_only=False)
    octaves = cross_entropy(fifth, pressed, octaves_only=True)
    assert octaves > 1.0 and full > octaves + 10


def test_the_octaves_term_has_finite_gradients():
    frames = jnp.asarray(np.stack([harmonic_frame(60), harmonic_frame(72)]))
    grad = jax.grad(lambda f: cross_entropy(f, [60, 60], octaves_only=True))(frames)
    assert np.isfinite(np.asarray(grad)).all() and np.abs(np.asarray(grad)).sum() > 0
