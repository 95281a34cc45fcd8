"""The harmonic-template note estimator against known answers: synthetic harmonic tones and
notes rendered from the SoundFont, whose pitches the manifest gives."""

import jax
import numpy as np
import pytest

from timbre_jax.corpus.store import SPLITS, load_split
from timbre_jax.dsp.chroma import MIDI_LOW, pitch_bands
from timbre_jax.dsp.note_estimate import estimate_notes, is_pitched, note_templates
from timbre_jax.dsp.spectral import hann_window, stft

TEMPLATES = note_templates(sample_rate=44100, n_fft=4096)


def tone(midi: int, amplitudes, seconds: float = 0.5) -> np.ndarray:
    """A harmonic tone: harmonic h + 1 at amplitudes[h] (below Nyquist)."""
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(round(seconds * 44100)) / 44100
    return sum(a * np.sin(2 * np.pi * (h + 1) * f0 * t) for h, a in enumerate(amplitudes)
               if (h + 1) * f0 < 22050).astype(np.float32)  # fmt: skip


def middle_frame(signal: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.asarray(stft(signal, window=hann_window(4096))))
    return spectrum[len(spectrum) // 2]


@pytest.mark.parametrize("midi", range(36, 100, 7))
def test_harmonic_tones_give_their_exact_note(midi):
    bright = [1 / (h + 1) for h in range(20)]
    weak_fundamental = [0.1, 1.0, 0.8, 0.6, 0.4, 0.3]
    even_heavy = [0.3, 1.0, 0.2, 0.8, 0.1, 0.6, 0.05, 0.4]  # the octave above holds the most
    for amplitudes in (bright, weak_fundamental, even_heavy):
        assert (
            int(estimate_notes(middle_frame(tone(midi, amplitudes)), templates=TEMPLATES)) == midi
        )


def test_frames_of_any_shape_under_jit_and_vmap():
    frames = np.stack([middle_frame(tone(m, [1.0, 0.5, 0.3])) for m in (48, 60, 72)])
    estimate = jax.jit(jax.vmap(lambda f: estimate_notes(f, templates=TEMPLATES)))
    np.testing.assert_array_equal(np.asarray(estimate(frames)), [48, 60, 72])
    assert estimate_notes(frames[None], templates=TEMPLATES).shape == (1, 3)


def test_rendered_notes_against_the_manifest(tiny_corpus):
    """Three programs playing C4 E4 G4: the estimator names the note where the plain argmax of
    the 88 pitch bands mostly cannot (it finds the loudest harmonic)."""
    splits = [load_split(tiny_corpus, s) for s in SPLITS]
    frames = np.concatenate([np.asarray(s.frames) for s in splits])
    truth = np.concatenate([np.asarray(s.pitch) for s in splits])
    known = truth >= 0
    notes = np.asarray(estimate_notes(frames[known], templates=TEMPLATES))
    bands = MIDI_LOW + np.argmax(frames[known] ** 2 @ pitch_bands(sample_rate=44100, n_fft=4096), 1)
    exact, band_exact = np.mean(notes == truth[known]), np.mean(bands == truth[known])
    assert exact >= 0.85 and exact > band_exact


def test_tones_have_a_clear_pitch_and_noise_has_none():
    noise = np.random.default_rng(0).uniform(-1, 1, 22050).astype(np.float32)
    frames = np.stack([middle_frame(tone(m, [1 / (h + 1) for h in range(12)]) + 0.05 * noise)
                       for m in (36, 60, 90)] + [middle_frame(noise)])  # fmt: skip
    notes = estimate_notes(frames, templates=TEMPLATES)
    assert np.asarray(is_pitched(frames, notes, templates=TEMPLATES)).tolist() == [True] * 3 + [
        False
    ]
