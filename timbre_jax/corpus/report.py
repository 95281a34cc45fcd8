"""The report of a corpus folder: frames, audio, silence, chroma and its accuracy, notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from timbre_jax.corpus.store import SPLITS, Split, load_metadata, load_split
from timbre_jax.dsp.chroma import NOTE_NAMES


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
    report["pitch"] = meta.get("pitch", "manifest")  # where the frames' notes come from
    for split in SPLITS:
        arrays = load_split(corpus_dir, split)
        counts = np.bincount(np.argmax(arrays.chroma, axis=1), minlength=12)
        stats = meta["splits"][split]
        report["splits"][split] = {
            **stats,
            "tie_rate": stats["ties"] / max(stats["frames"], 1),
            "chroma_histogram": dict(zip(NOTE_NAMES, counts.tolist(), strict=True)),
            "chroma_accuracy": chroma_accuracy(arrays),
            "frames_with_note": int((np.asarray(arrays.pitch) >= 0).sum()),
        }
    labels = [s.get("pitch_labels") for s in meta["splits"].values()]
    if report["pitch"] != "manifest" and all(labels):
        both = sum(c["both"] for c in labels)
        report["pitch_agreement"] = {  # the estimate against the manifest's notes
            "frames_both_labelled": both,
            "exact": sum(c["exact"] for c in labels) / both if both else None,
            "same_class": sum(c["same_class"] for c in labels) / both if both else None,
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
    with_note = sum(s["frames_with_note"] for s in report["splits"].values())
    source = (f"from {report['pitch']}" if with_note else
              "no manifest notes; build with --pitch pyin to label them")  # fmt: skip
    lines.append(f"notes: {with_note} of {report['frames']} frames have one ({source})")
    agree = report.get("pitch_agreement")
    if agree and agree["exact"] is not None:
        lines.append(
            f"{report['pitch']} against the manifest, on the {agree['frames_both_labelled']} "
            f"frames both label: same note {100 * agree['exact']:.1f}%, same pitch class "
            f"{100 * agree['same_class']:.1f}%"
        )
    return "\n".join(lines)
