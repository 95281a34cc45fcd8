"""Builds a corpus folder from a folder of audio: rendered clips or the user's recordings.

Clips and their splits come from `manifest.json` when the folder has one (written by
`render`, or by the user); otherwise every audio file is a clip and files are split by
`split_files`. Each clip becomes consecutive frames; frames quieter than `silence_db` are
dropped and counted. Each frame's note comes from the manifest or from pYIN
(`pitch_labels.py`). The folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from timbre_jax import __version__
from timbre_jax.cli import stop_if_asked
from timbre_jax.corpus.analysis import SILENCE_DB, FrameAnalyser
from timbre_jax.corpus.pitch_labels import (
    AGREEMENT,
    agreement,
    check_pitch_source,
    frame_pitches,
    pyin_pitches,
)
from timbre_jax.corpus.render import MANIFEST
from timbre_jax.corpus.store import ARRAYS, CORPUS_FORMAT, CORPUS_JSON, SPLITS
from timbre_jax.corpus.workspace import atomic_output_dir, check_writable, refuse_existing
from timbre_jax.dsp import spectral
from timbre_jax.dsp.audio_io import list_audio_files, read_audio
from timbre_jax.errors import ParameterError
from timbre_jax.progress import progress_bar


def split_files(n_files: int, *, seed: int) -> list[str]:
    """The split of each of `n_files` sorted files: 10% validation, 10% test, rest train.

    Files are shuffled with `numpy.random.default_rng(seed)`; validation and test take
    `max(1, round(0.1 * n_files))` files each, in that order, and training the rest.
    """
    if n_files < 3:
        raise ParameterError(
            f"found {n_files} audio file(s); a split needs at least 3 "
            "(or write a manifest.json that assigns each file a split)"
        )
    n_held = max(1, round(0.1 * n_files))
    order = np.random.default_rng(seed).permutation(n_files)
    splits = ["train"] * n_files
    for rank, index in enumerate(order[: 2 * n_held]):
        splits[index] = "val" if rank < n_held else "test"
    return splits


def check_notes(clip: dict, manifest_path: Path) -> None:
    """Refuses a manifest note that is not a MIDI pitch 0-127 sounding from `onset` to a later
    `offset` (seconds)."""
    where = f"manifest {str(manifest_path)!r}: clip {clip['file']!r}"
    for note in clip["notes"]:
        try:
            pitch, onset, offset = note["pitch"], float(note["onset"]), float(note["offset"])
        except (KeyError, TypeError, ValueError) as err:
            raise ParameterError(f"{where} has a note without pitch, onset and offset: "
                                 f"{note}") from err  # fmt: skip
        if not (isinstance(pitch, int) and 0 <= pitch <= 127):
            raise ParameterError(f"{where} has pitch {pitch!r}; a pitch is a MIDI note 0-127")
        if not 0 <= onset < offset:
            raise ParameterError(f"{where} has a note from {onset} s to {offset} s")


def plan_clips(audio_dir: Path, *, seed: int) -> tuple[list[dict], dict]:
    """The clips to read (file, split, notes) and a description of their source."""
    if audio_dir.is_file():
        raise ParameterError(f"--audio {str(audio_dir)!r} is a file: give the folder that holds "
                             "the audio files")  # fmt: skip
    if not audio_dir.is_dir():
        raise ParameterError(f"audio folder {str(audio_dir)!r} does not exist")
    manifest_path = audio_dir / MANIFEST
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
            clips = [
                {"file": c["file"], "split": c["split"], "notes": c.get("notes", [])}
                for c in manifest["clips"]
            ]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ParameterError(f"manifest {str(manifest_path)!r} is malformed: {err}") from err
        bad = [c for c in clips if c["split"] not in SPLITS]
        if bad:
            raise ParameterError(f"manifest clip {bad[0]['file']!r} has split {bad[0]['split']!r}")
        for clip in clips:
            check_notes(clip, manifest_path)
        source = {k: manifest[k] for k in ("preset", "soundfont") if k in manifest}
        return clips, {"audio_dir": str(audio_dir), "split_rule": "manifest", **source}
    files = list_audio_files(audio_dir)
    splits = split_files(len(files), seed=seed)
    clips = [
        {"file": f.relative_to(audio_dir).as_posix(), "split": s, "notes": []}
        for f, s in zip(files, splits, strict=True)
    ]
    return clips, {"audio_dir": str(audio_dir), "split_rule": f"split_files(seed={seed})"}


def build_corpus(
    audio_dir: str | Path,
    out_dir: str | Path,
    *,
    chroma_method: str = "pitch_filterbank",
    pitch: str = "manifest",
    overwrite: bool = False,
    seed: int = 0,
    silence_db: float = SILENCE_DB,
    progress: bool = True,
) -> dict:
    """Builds `out_dir` (corpus.json and train/val/test arrays) from `audio_dir`.

    Args:
      audio_dir: folder of audio files, with or without `manifest.json`.
      out_dir: corpus folder to write; refused if it exists unless `overwrite`.
      chroma_method: a name in `chroma.CHROMA_METHODS`.
      pitch: where each frame's note comes from: "manifest" or "pyin" (`pitch_labels.py`).
      overwrite: replace an existing `out_dir`.
      seed: seed of the file split when there is no manifest.
      silence_db: frames whose peak is below this (dB re a full-scale sine) are dropped.
      progress: show a progress bar.

    Returns:
      The contents of corpus.json.
    """
    audio_dir = Path(audio_dir)
    refuse_existing(out_dir, overwrite=overwrite)
    check_writable(out_dir)
    check_pitch_source(pitch)
    analyser = FrameAnalyser(chroma_method=chroma_method)
    sample_rate, hop = spectral.SAMPLE_RATE, spectral.HOP_LENGTH
    clips, source = plan_clips(audio_dir, seed=seed)
    parts = {s: {k: [] for k in ARRAYS} for s in SPLITS}
    counters = ("clips", "seconds", "silent_frames_dropped", "ties")
    stats = {s: dict.fromkeys(counters, 0) for s in SPLITS}
    labels = {s: dict.fromkeys(AGREEMENT, 0) for s in SPLITS}
    for clip_id, clip in enumerate(progress_bar(clips, desc="build", unit="clip", show=progress)):
        stop_if_asked()  # a Ctrl-C is taken between clips, never inside pYIN's compiled code
        signal = read_audio(audio_dir / clip["file"], sample_rate=sample_rate)
        result = analyser(signal)
        n_frames = len(result.peak_db)
        truth = frame_pitches(clip["notes"], n_frames, sample_rate=sample_rate, hop_length=hop)
        notes = (
            truth
            if pitch == "manifest"
            else pyin_pitches(
                signal, n_frames, sample_rate=sample_rate, n_fft=spectral.N_FFT, hop_length=hop
            )
        )
        keep = result.peak_db >= silence_db
        split, part = clip["split"], parts[clip["split"]]
        part["frames"].append(result.frames[keep])
        part["chroma"].append(result.one_hot[keep])
        part["clip_ids"].append(np.full(int(keep.sum()), clip_id, np.int32))
        part["positions"].append(np.flatnonzero(keep).astype(np.int32))
        part["pitch"].append(notes[keep])
        for key, count in agreement(notes[keep], truth[keep]).items():
            labels[clip["split"]][key] += count
        stats[split]["clips"] += 1
        stats[split]["seconds"] = round(stats[split]["seconds"] + len(signal) / sample_rate, 3)
        stats[split]["silent_frames_dropped"] += int(n_frames - keep.sum())
        stats[split]["ties"] += int(result.tie[keep].sum())
    empty = [s for s in SPLITS if stats[s]["clips"] == 0]
    if empty:
        raise ParameterError(f"no clips in split(s) {empty} of {str(audio_dir)!r}")
    silent = [s for s in SPLITS if not sum(len(f) for f in parts[s]["frames"])]
    if silent:
        raise ParameterError(f"split(s) {silent} of {str(audio_dir)!r}: no frame louder than "
                             f"{silence_db:g} dB re a full-scale sine: silent?")  # fmt: skip
    meta = {
        "format": CORPUS_FORMAT,
        "package_version": __version__,
        "sample_rate": sample_rate,
        "n_fft": spectral.N_FFT,
        "hop_length": hop,
        "window": "hann",
        "normalisation": "per-frame max",
        "silence_db": silence_db,
        "chroma_method": chroma_method,
        "pitch": pitch,
        "sources": source,
        "splits": {},
    }
    with atomic_output_dir(out_dir, overwrite=overwrite) as tmp:
        for split in SPLITS:
            (tmp / split).mkdir()
            arrays = {k: np.concatenate(v) for k, v in parts[split].items()}
            for name, array in arrays.items():
                np.save(tmp / split / f"{name}.npy", array, allow_pickle=False)
            meta["splits"][split] = {"frames": len(arrays["frames"]), **stats[split],
                                     "pitch_labels": labels[split]}  # fmt: skip
            parts[split] = None  # free the lists as soon as the split is written
        (tmp / CORPUS_JSON).write_text(json.dumps(meta, indent=1))
    return meta
