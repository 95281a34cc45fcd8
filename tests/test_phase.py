import numpy as np
import pytest

from tests.helpers import overlap_add
from timbre_jax.dsp.audio_io import read_audio
from timbre_jax.dsp.spectral import hann_window, stft
from timbre_jax.errors import ParameterError
from timbre_jax.synth.phase import RTPGHI, NoisePhase, make_phase

WINDOW = hann_window()


def resynthesise(mag: np.ndarray, method) -> np.ndarray:
    """|STFT| of `overlap_add(mag, method)`."""
    return np.abs(np.asarray(stft(overlap_add(mag, method), window=WINDOW)))


def spectral_convergence(target, got):
    return np.linalg.norm(got[4:-4] - target[4:-4]) / np.linalg.norm(target[4:-4])


def test_rtpghi_reconstructs_a_violin_far_better_than_noise_phase(tiny_audio):
    violin = read_audio(tiny_audio / "val" / "program040.wav", sample_rate=44100)
    mag = np.abs(np.asarray(stft(violin, window=WINDOW)))
    noise = spectral_convergence(mag, resynthesise(mag, NoisePhase()))
    rtpghi = spectral_convergence(mag, resynthesise(mag, RTPGHI()))
    assert rtpghi < 0.2 and rtpghi < noise / 2, (rtpghi, noise)


def test_noise_phase_cycles_and_is_seeded():
    a, b, c = NoisePhase(n_frames=4, seed=1), NoisePhase(n_frames=4, seed=1), NoisePhase(seed=2)
    first = [a(None, None, None) for _ in range(5)]
    np.testing.assert_array_equal(first[0], first[4])
    b(None, None, None)
    np.testing.assert_array_equal(first[1], b(None, None, None))
    assert not np.allclose(first[0], c(None, None, None))


def test_rtpghi_follows_a_steady_sine_exactly():
    t = np.arange(44100) / 44100
    sine = np.sin(2 * np.pi * 441.0 * t).astype(np.float32)  # 441 Hz: 40.96 bins
    mag = np.abs(np.asarray(stft(sine, window=WINDOW)))
    assert spectral_convergence(mag, resynthesise(mag, RTPGHI())) < 0.05


@pytest.mark.parametrize("call, match", [
    (lambda: RTPGHI(tolerance_db=3), "tolerance_db"),
    (lambda: make_phase("griffin-lim"), "griffin-lim"),
])  # fmt: skip
def test_bad_parameters(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_rtpghi_starts_a_note_fresh_whatever_came_before():
    """A voice's first frame (previous frame all zeros) is integrated from its own peaks: a
    voice that played another note before gives its significant bins the same phases as a
    new one."""
    t = np.arange(44100) / 44100
    mag = np.abs(np.asarray(stft(np.sin(2 * np.pi * 440 * t).astype(np.float32),
                                 window=hann_window(4096))))[10]  # fmt: skip
    used = RTPGHI(seed=1)
    other = np.roll(mag, 37)
    previous = used(other, np.zeros_like(other), np.zeros_like(other))
    previous = used(other, other, previous)  # state of an earlier note
    zeros = np.zeros_like(mag)
    stale, fresh = used(mag, zeros, previous), RTPGHI(seed=1)(mag, zeros, zeros)
    significant = mag >= mag.max() * 1e-3
    np.testing.assert_allclose(stale[significant], fresh[significant], atol=1e-9)
