"""Loads a corpus folder and summarises it: frames, audio, silence, chroma and its accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from timbre_jax.chroma import NOTE_NAMES
from timbre_jax.corpus.build import CORPUS_FORMAT, CORPUS_JSON, SPLITS
from timbre_jax.errors import ParameterError


class Split(NamedTuple):
    frames: np.ndarray  # [N, n_bins] float32, each frame's maximum 1
    chroma: np.ndarray  # [N, 12] float32 one-hot
    clip_ids: np.ndarray  # [N] int32
    positions: np.ndarray  # [N] int32 STFT frame index within its clip (silent frames skipped)
    pitch: np.ndarray  # [N] int16 MIDI pitch, -1 unknown


def load_metadata(corpus_dir: str | Path) -> dict:
    """The corpus.json of a corpus folder."""
    path = Path(corpus_dir) / CORPUS_JSON
    if not path.is_file():
        raise ParameterError(f"{str(corpus_dir)!r} is not a corpus folder: no {CORPUS_JSON}")
    meta = json.loads(path.read_text())
    if meta.get("format") != CORPUS_FORMAT:
        raise ParameterError(
            f"{str(corpus_dir)!r} has format {meta.get('format')!r}, this version reads "
            f"{CORPUS_FORMAT!r}: rebuild it with `python -m timbre_jax.corpus build --audio "
            f"{meta.get('sources', {}).get('audio_dir', 'AUDIO')} --out {corpus_dir} --overwrite`"
        )
    return meta


def load_split(corpus_dir: str | Path, split: str, *, mmap: bool = True) -> Split:
    """The arrays of one split, memory-mapped by default (never unpickled)."""
    if split not in SPLITS:
        raise ParameterError(f"unknown split {split!r}; choose one of {SPLITS}")
    load_metadata(corpus_dir)
    folder = Path(corpus_dir) / split
    mode = "r" if mmap else None
    return Split(
        *(
            np.load(folder / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
            for name in Split._fields
        )
    )


def chroma_accuracy(split: Split) -> float | None:
    """Fraction of frames with a known pitch whose one-hot chroma is that pitch's class."""
    known = np.asarray(split.pitch) >= 0
    if not known.any():
        return None
    classes = np.argmax(split.chroma[known], axis=1)
    return float(np.mean(classes == np.asarray(split.pitch)[known] % 12))


def corpus_report(corpus_dir: str | Path) -> dict:
    """Per split: frames, clips, seconds, silent frames dropped, ties, histogram, accuracy."""
    meta = load_metadata(corpus_dir)
    report = {"corpus": str(corpus_dir)}
    report |= {k: meta[k] for k in ("sample_rate", "n_fft", "hop_length", "chroma_method")}
    report["sources"], report["splits"] = meta["sources"], {}
    for split in SPLITS:
        arrays = load_split(corpus_dir, split)
        counts = np.bincount(np.argmax(arrays.chroma, axis=1), minlength=12)
        stats = meta["splits"][split]
        report["splits"][split] = {
            **stats,
            "tie_rate": stats["ties"] / max(stats["frames"], 1),
            "chroma_histogram": dict(zip(NOTE_NAMES, counts.tolist(), strict=True)),
            "chroma_accuracy": chroma_accuracy(arrays),
        }
    all_frames = sum(s["frames"] for s in report["splits"].values())
    known = [s for s in report["splits"].values() if s["chroma_accuracy"] is not None]
    report["frames"] = all_frames
    report["chroma_accuracy"] = (
        sum(s["chroma_accuracy"] * s["frames"] for s in known) / sum(s["frames"] for s in known)
        if known
        else None
    )
    return report


def format_report(report: dict) -> str:
    """The report as a short table for the terminal."""
    src = report["sources"]
    origin = src.get("preset", "recordings")
    if "soundfont" in src:
        origin += f" on {src['soundfont']['name']}"
    lines = [
        f"corpus {report['corpus']} ({origin}; chroma {report['chroma_method']}, "
        f"{report['n_fft']}-point STFT, hop {report['hop_length']}, {report['sample_rate']} Hz)",
        f"{'split':6} {'frames':>7} {'clips':>6} {'seconds':>8} {'silent':>7} {'ties':>6} "
        f"{'chroma acc':>10}  chroma histogram (" + " ".join(NOTE_NAMES) + ")",
    ]
    for split, s in report["splits"].items():
        acc = "-" if s["chroma_accuracy"] is None else f"{100 * s['chroma_accuracy']:.1f}%"
        hist = " ".join(str(v) for v in s["chroma_histogram"].values())
        lines.append(
            f"{split:6} {s['frames']:7d} {s['clips']:6d} {s['seconds']:8.1f} "
            f"{s['silent_frames_dropped']:7d} {100 * s['tie_rate']:5.2f}% {acc:>10}  {hist}"
        )
    total = report["chroma_accuracy"]
    lines.append(
        f"total  {report['frames']:7d} frames; chroma accuracy against the sounding note: "
        + ("unknown (no pitch labels)" if total is None else f"{100 * total:.1f}%")
    )
    return "\n".join(lines)
