"""Each frame's note: from the manifest's notes, or estimated from the audio with pYIN.

- `manifest` (the default): the latest note whose onset is at or before the frame's centre
  and which has not ended more than `RELEASE_SECONDS` earlier (`frame_pitches`); -1 where
  the manifest gives none (as for recordings without one).
- `pyin`: `librosa.pyin` over the whole clip on the corpus's frame grid (frame n_fft, hop
  hop_length, centred: frame t is centred at t * hop_length), its f0 rounded to the nearest
  MIDI note; frames it calls unvoiced keep -1.

When both exist, `agreement` counts how often the estimate names the manifest's note.
"""

from __future__ import annotations

import numpy as np

from timbre_jax.errors import ParameterError

PITCH_SOURCES = ("manifest", "pyin")
RELEASE_SECONDS = 1.0  # a note's pitch labels frames up to this long after its note-off
PYIN_FMIN, PYIN_FMAX = 55.0, 4186.0  # Hz: A1 to C8
AGREEMENT = ("with_truth", "with_estimate", "both", "exact", "same_class")  # frame counts


def check_pitch_source(source: str) -> str:
    if source not in PITCH_SOURCES:
        raise ParameterError(f"--pitch must be one of {PITCH_SOURCES}, got {source!r}")
    return source


def frame_pitches(notes, n_frames: int, *, sample_rate: int, hop_length: int) -> np.ndarray:
    """Ground-truth MIDI pitch at each frame centre: [n_frames] int16, -1 where none.

    A frame takes the pitch of the latest note whose onset is at or before its centre, as
    long as that note ended less than `RELEASE_SECONDS` before the centre.
    """
    pitch = np.full(n_frames, -1, np.int16)
    centres = np.arange(n_frames) * hop_length / sample_rate
    for note in sorted(notes, key=lambda n: n["onset"]):
        sounding = (centres >= note["onset"]) & (centres < note["offset"] + RELEASE_SECONDS)
        pitch[sounding] = note["pitch"]
    return pitch


def pyin_pitches(signal: np.ndarray, n_frames: int, *, sample_rate: int, n_fft: int,
                 hop_length: int) -> np.ndarray:  # fmt: skip
    """pYIN's note at each frame centre: [n_frames] int16, -1 where it hears no voice."""
    import librosa  # imported here: it loads numba, which only this source needs

    f0, voiced, _ = librosa.pyin(
        signal, fmin=PYIN_FMIN, fmax=PYIN_FMAX, sr=sample_rate, frame_length=n_fft,
        hop_length=hop_length, center=True,
    )  # fmt: skip
    pitch = np.full(n_frames, -1, np.int16)
    n = min(n_frames, len(f0))
    heard = voiced[:n] & np.isfinite(f0[:n])
    pitch[:n][heard] = np.round(librosa.hz_to_midi(f0[:n][heard])).astype(np.int16)
    return pitch


def agreement(estimated: np.ndarray, truth: np.ndarray) -> dict:
    """Counts of frames: with a truth, with an estimate, with both; of those, how many name
    the same note (`exact`) and the same pitch class (`same_class`)."""
    both = (estimated >= 0) & (truth >= 0)
    counts = ((truth >= 0).sum(), (estimated >= 0).sum(), both.sum(),
              (estimated[both] == truth[both]).sum(),
              (estimated[both] % 12 == truth[both] % 12).sum())  # fmt: skip
    return dict(zip(AGREEMENT, map(int, counts), strict=True))
