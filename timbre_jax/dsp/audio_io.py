"""Read and write audio files on the host: mono float32, resampled to the corpus rate.

Reading validates what a corpus cannot use (unreadable, empty, truncated or non-finite audio)
and raises `ParameterError` naming the file, so that a bad file fails a build before anything
is written.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

from timbre_jax.errors import ParameterError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")

# libsndfile reports a WAV whose data chunk is shorter than its header says as
# "data : 88200 (should be 44078)" in its log instead of failing.
_TRUNCATED = re.compile(r"\(should be \d+\)")


def read_audio(path: str | Path, *, sample_rate: int) -> np.ndarray:
    """Reads an audio file as mono float32 at `sample_rate`.

    Any bit depth, channel count (averaged to mono) and sample rate (resampled with
    librosa's default high-quality resampler) is accepted.

    Args:
      path: audio file in a format libsndfile reads (WAV, FLAC, OGG, AIFF, MP3).
      sample_rate: output rate in Hz.

    Returns:
      signal: [n_samples] float32.

    Raises:
      ParameterError: the file is missing, unreadable, empty, truncated or not finite.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"audio file {str(path)!r} does not exist")
    try:
        info = sf.info(str(path))
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise ParameterError(f"cannot read audio file {str(path)!r}: {err}") from err
    if _TRUNCATED.search(info.extra_info or ""):
        raise ParameterError(
            f"audio file {str(path)!r} is truncated: its header promises more samples than it holds"
        )
    if data.shape[0] == 0:
        raise ParameterError(f"audio file {str(path)!r} holds no samples")
    if not np.isfinite(data).all():
        raise ParameterError(f"audio file {str(path)!r} holds NaN or infinite samples")
    signal = data.mean(axis=1, dtype=np.float32)
    if file_rate != sample_rate:
        import librosa  # imported here: it loads numba, which only resampling needs

        signal = librosa.resample(signal, orig_sr=file_rate, target_sr=sample_rate)
    return np.ascontiguousarray(signal, dtype=np.float32)


def write_wav(path: str | Path, signal: np.ndarray, *, sample_rate: int) -> int:
    """Writes a mono signal as 16-bit PCM WAV, clipping it to [-1, 1].

    Args:
      path: output file.
      signal: [n_samples] float.
      sample_rate: rate in Hz.

    Returns:
      The number of samples that had to be clipped.
    """
    signal = np.asarray(signal, dtype=np.float32)
    clipped = int(np.count_nonzero(np.abs(signal) > 1.0))
    sf.write(str(path), np.clip(signal, -1.0, 1.0), sample_rate, subtype="PCM_16")
    return clipped


def list_audio_files(folder: str | Path) -> list[Path]:
    """Audio files under `folder`, recursively, sorted by relative path."""
    folder = Path(folder)
    return sorted(
        (p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
