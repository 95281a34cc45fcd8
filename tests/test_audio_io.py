import numpy as np
import pytest
import soundfile as sf

from timbre_jax.dsp.audio_io import list_audio_files, read_audio, write_wav
from timbre_jax.errors import ParameterError


def tone(rate, seconds=1.0, freq=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize(
    "rate, channels, subtype, suffix",
    [(44100, 1, "PCM_16", ".wav"), (22050, 2, "PCM_24", ".wav"), (48000, 2, "FLOAT", ".wav"),
     (32000, 1, "PCM_16", ".flac")],
)  # fmt: skip
def test_any_rate_depth_and_channels_become_mono_44k(tmp_path, rate, channels, subtype, suffix):
    signal = np.stack([tone(rate)] * channels, axis=1)
    path = tmp_path / f"x{suffix}"
    sf.write(path, signal, rate, subtype=subtype)
    out = read_audio(path, sample_rate=44100)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - 44100) <= 1
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 44100 / len(out) - 440) < 2
    assert abs(out.max() - 0.5) < 0.01


def bad_files(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, tone(44100), 44100, subtype="PCM_16")
    data = good.read_bytes()
    files = {
        "empty.wav": b"",
        "header_only.wav": data[:44],
        "truncated.wav": data[: len(data) // 2],
        "notes.wav": b"this is a text file, not audio",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    for name, value in (("nan.wav", np.nan), ("inf.wav", np.inf)):
        signal = tone(44100)
        signal[100] = value
        sf.write(tmp_path / name, signal, 44100, subtype="FLOAT")
    return ["empty.wav", "header_only.wav", "truncated.wav", "notes.wav", "nan.wav", "inf.wav"]


def test_each_bad_file_gets_an_error_naming_it(tmp_path):
    for name in bad_files(tmp_path) + ["missing.wav"]:
        with pytest.raises(ParameterError, match=name):
            read_audio(tmp_path / name, sample_rate=44100)


def test_write_wav_is_16_bit_pcm_and_counts_clipping(tmp_path):
    signal = np.array([0.0, 0.5, 1.5, -2.0, -0.25], np.float32)
    assert write_wav(tmp_path / "a.wav", signal, sample_rate=44100) == 2
    info = sf.info(tmp_path / "a.wav")
    assert (info.subtype, info.samplerate, info.channels) == ("PCM_16", 44100, 1)
    back, _ = sf.read(tmp_path / "a.wav")
    np.testing.assert_allclose(back, np.clip(signal, -1, 1), atol=1 / 32767)


def test_list_audio_files_is_recursive_and_sorted(tmp_path):
    for rel in ("b.wav", "a/z.flac", "a/y.txt", "c.OGG"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in list_audio_files(tmp_path)]
    assert found == ["a/z.flac", "b.wav", "c.OGG"]
