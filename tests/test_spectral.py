import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest

from timbre_jax.dsp import spectral
from timbre_jax.dsp.audio_io import read_audio
from timbre_jax.errors import ParameterError

WINDOW = spectral.hann_window()


@pytest.fixture(scope="module")
def violin(tiny_audio):
    """1.2 s of a rendered violin (the tiny preset's validation clip)."""
    return read_audio(tiny_audio / "val" / "program040.wav", sample_rate=spectral.SAMPLE_RATE)


def test_window_is_scipy_periodic_hann():
    from scipy.signal import get_window

    np.testing.assert_allclose(WINDOW, get_window("hann", 4096), atol=1e-7)


def test_stft_matches_librosa_on_real_audio(violin):
    ours = np.asarray(spectral.stft(violin, window=WINDOW))
    theirs = librosa.stft(violin, n_fft=4096, hop_length=1024, window="hann").T
    assert ours.shape == theirs.shape == (spectral.num_frames(len(violin)), 2049)
    assert np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) <= 1e-4


@pytest.mark.parametrize("n_samples", [44100, 44100 + 517])
def test_istft_inverts_stft(violin, n_samples):
    noise = np.random.default_rng(0).uniform(-1, 1, n_samples).astype(np.float32)
    for signal in (noise, violin[:n_samples]):
        spectrum = spectral.stft(signal, window=WINDOW)
        back = spectral.istft(spectrum, window=WINDOW, length=len(signal))
        assert back.shape == signal.shape
        np.testing.assert_allclose(back, signal, atol=1e-5)


def test_istft_default_length_is_frames_times_hop():
    spectrum = jnp.zeros((10, 2049), jnp.complex64)
    assert spectral.istft(spectrum, window=WINDOW).shape == (9 * 1024,)


def test_stft_runs_under_jit(violin):
    jitted = jax.jit(spectral.stft, static_argnames="hop_length")
    np.testing.assert_allclose(
        jitted(violin, window=WINDOW), spectral.stft(violin, window=WINDOW), atol=1e-4
    )


def test_normalize_frames_scales_each_frame_to_unit_max():
    mag = jnp.array([[0.0, 2.0, 4.0], [0.0, 0.0, 0.0], [3.0, 1.0, 0.5]])
    out = np.asarray(spectral.normalize_frames(mag))
    np.testing.assert_allclose(out, [[0, 0.5, 1], [0, 0, 0], [1, 1 / 3, 1 / 6]], rtol=1e-6)


def test_frame_diff_is_zero_at_the_start_then_the_step():
    frames = np.arange(12, dtype=np.float32).reshape(6, 2) ** 2
    diff = np.asarray(spectral.frame_diff(frames))
    np.testing.assert_array_equal(diff[0], 0)
    np.testing.assert_allclose(diff[1:], frames[1:] - frames[:-1])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: spectral.hann_window(4095), "n_fft"),
        (lambda: spectral.stft(np.zeros(5000), window=WINDOW, hop_length=0), "hop_length"),
        (lambda: spectral.stft(np.zeros(5000), window=WINDOW, hop_length=5000), "hop_length"),
        (lambda: spectral.stft(np.zeros((2, 5000)), window=WINDOW), "1-D"),
        (lambda: spectral.istft(jnp.zeros((3, 100), jnp.complex64), window=WINDOW), "bins"),
    ],
)
def test_bad_parameters_are_named(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
