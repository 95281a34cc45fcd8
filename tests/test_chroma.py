import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest

from timbre_jax.dsp import chroma, spectral
from timbre_jax.dsp.audio_io import read_audio
from timbre_jax.errors import ParameterError

SR, N_FFT = spectral.SAMPLE_RATE, spectral.N_FFT
WINDOW = spectral.hann_window()


def bank(method):
    return chroma.filterbank(method, sample_rate=SR, n_fft=N_FFT)


def sine_mag(midi: int, seconds: float = 0.5) -> jnp.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    return jnp.abs(spectral.stft(np.sin(2 * np.pi * freq * t).astype(np.float32), window=WINDOW))


@pytest.mark.parametrize("method", chroma.CHROMA_METHODS)
@pytest.mark.parametrize("midi", range(43, 100, 5))  # every pitch class, G2 to D#7
def test_sine_lands_in_its_pitch_class(method, midi):
    classes = np.argmax(chroma.chroma(sine_mag(midi), bank=bank(method)), axis=-1)
    assert np.all(classes == midi % 12)


def test_librosa_method_matches_chroma_stft(tiny_audio):
    signal = read_audio(tiny_audio / "train" / "program000.wav", sample_rate=SR)
    mag = np.asarray(jnp.abs(spectral.stft(signal, window=WINDOW)))
    ours = np.asarray(chroma.chroma(mag, bank=bank("librosa")))
    theirs = librosa.feature.chroma_stft(S=mag.T**2, sr=SR, n_fft=N_FFT, tuning=0.0).T
    loud = mag.max(axis=1) > 1.0
    np.testing.assert_array_equal(ours[loud].argmax(1), theirs[loud].argmax(1))
    np.testing.assert_allclose(ours / ours.max(1, keepdims=True), theirs, atol=1e-4)


def test_pitch_filterbank_splits_each_bin_over_the_88_bands():
    weights = bank("pitch_filterbank").sum(axis=1)
    freqs = np.arange(N_FFT // 2 + 1) * SR / N_FFT
    inside = (freqs >= 27.5) & (freqs <= 4186.0)  # A0 to C8
    np.testing.assert_allclose(weights[inside], 1.0, rtol=1e-5)
    assert weights[0] == 0 and weights[-1] == 0


@pytest.mark.parametrize(
    "energy, expected",
    [
        (np.zeros(12), 0),  # silent frame: all tied, still one class
        (np.array([0, 3, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1.0]), 1),
        (np.eye(12)[7] * 5, 7),
    ],
)
def test_one_hot_has_exactly_one_one(energy, expected):
    vector = np.asarray(chroma.one_hot(jnp.asarray(energy)))
    assert vector.sum() == 1 and vector[expected] == 1


def test_is_tie():
    energies = jnp.array([np.zeros(12), np.eye(12)[3], [2, 2] + [0] * 10])
    np.testing.assert_array_equal(chroma.is_tie(energies), [True, False, True])


def test_chroma_runs_inside_jit_and_vmap():
    mags = jnp.stack([sine_mag(60)[:4], sine_mag(67)[:4]])
    fn = jax.jit(jax.vmap(lambda m: chroma.one_hot(chroma.chroma(m, bank=bank("librosa")))))
    out = np.asarray(fn(mags))
    assert out.shape == (2, 4, 12)
    np.testing.assert_array_equal(out.argmax(-1), [[0] * 4, [7] * 4])


def test_unknown_method_is_named():
    with pytest.raises(ParameterError, match="'cqt'"):
        chroma.filterbank("cqt", sample_rate=SR, n_fft=N_FFT)
