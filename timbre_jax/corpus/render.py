"""Renders preset clips on a General MIDI SoundFont into WAV files and a manifest.

The renderer is `tinysoundfont` (a C SoundFont synthesiser, installed without its unused
PyAudio dependency). The default bank is TimGM6mb, which ships inside the `pretty_midi` wheel.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np

from timbre_jax import __version__
from timbre_jax.corpus.presets import Clip, preset_clips
from timbre_jax.corpus.workspace import atomic_output_dir, refuse_existing
from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.dsp.spectral import SAMPLE_RATE
from timbre_jax.errors import ParameterError
from timbre_jax.progress import progress_bar

MANIFEST = "manifest.json"


def default_soundfont() -> Path:
    """Path of the TimGM6mb bank inside the installed `pretty_midi` package."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        raise ParameterError("the default SoundFont needs pretty_midi: pip install pretty_midi")
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise ParameterError(f"pretty_midi is installed but has no SoundFont at {str(path)!r}")
    return path


def _new_synth(soundfont: Path, *, sample_rate: int):
    try:
        import tinysoundfont
    except ImportError as err:
        raise ParameterError(
            "rendering needs tinysoundfont: pip install --no-deps tinysoundfont"
        ) from err
    synth = tinysoundfont.Synth(samplerate=sample_rate)
    try:
        sfid = synth.sfload(str(soundfont))
    except Exception as err:  # tinysoundfont raises its own exception type or OSError
        raise ParameterError(f"cannot load SoundFont {str(soundfont)!r}: {err}") from err
    return synth, sfid


def render_clip(synth, sfid: int, clip: Clip, *, sample_rate: int) -> np.ndarray:
    """Plays one clip on channel 0 from silence.

    Returns:
      signal: [round(clip.seconds * sample_rate)] float32 mono (the mean of the two channels).
    """
    synth.sounds_off()
    synth.program_select(0, sfid, 0, clip.program)
    events = sorted(
        [(round(n.onset * sample_rate), 1, n) for n in clip.notes]
        + [(round(n.offset * sample_rate), 0, n) for n in clip.notes],
        key=lambda e: (e[0], e[1]),  # note-offs before note-ons at the same sample
    )
    total = round(clip.seconds * sample_rate)
    out = np.zeros((total, 2), np.float32)
    position = 0
    for sample, is_on, note in events + [(total, None, None)]:
        sample = min(sample, total)
        if sample > position:
            block = synth.generate(sample - position)
            out[position:sample] = np.frombuffer(block, np.float32).reshape(-1, 2)
            position = sample
        if is_on:
            synth.noteon(0, note.pitch, note.velocity)
        elif is_on is not None:
            synth.noteoff(0, note.pitch)
    return out.mean(axis=1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def render_preset(
    preset: str,
    out_dir: str | Path,
    *,
    soundfont: str | Path | None = None,
    overwrite: bool = False,
    sample_rate: int = SAMPLE_RATE,
    progress: bool = True,
) -> dict:
    """Renders every clip of a preset to `out_dir/SPLIT/NAME.wav` plus `manifest.json`.

    Args:
      preset: a name in `presets.PRESETS`.
      out_dir: output folder; refused if it exists unless `overwrite`.
      soundfont: an .sf2 file; default `default_soundfont()`.
      overwrite: replace an existing `out_dir`.
      sample_rate: rate of the WAV files in Hz.
      progress: show a progress bar.

    Returns:
      The manifest: preset, soundfont, sample rate and, per clip, file, program, split and
      notes (pitch, velocity, onset and offset in seconds).
    """
    clips = preset_clips(preset)
    refuse_existing(out_dir, overwrite=overwrite)
    soundfont = Path(soundfont) if soundfont is not None else default_soundfont()
    if not soundfont.is_file():
        raise ParameterError(f"SoundFont {str(soundfont)!r} does not exist")
    synth, sfid = _new_synth(soundfont, sample_rate=sample_rate)
    manifest = {
        "format": "timbre_jax.manifest/1",
        "preset": preset,
        "soundfont": {"name": soundfont.name, "sha256": _sha256(soundfont)},
        "sample_rate": sample_rate,
        "package_version": __version__,
        "clips": [],
    }
    with atomic_output_dir(out_dir, overwrite=overwrite) as tmp:
        for clip in progress_bar(clips, desc=f"render {preset}", unit="clip", show=progress):
            file = f"{clip.split}/{clip.name}.wav"
            (tmp / clip.split).mkdir(exist_ok=True)
            signal = render_clip(synth, sfid, clip, sample_rate=sample_rate)
            clipped = write_wav(tmp / file, signal, sample_rate=sample_rate)
            manifest["clips"].append(
                {
                    "file": file,
                    "split": clip.split,
                    "program": clip.program,
                    "program_name": synth.sfpreset_name(sfid, 0, clip.program),
                    "clipped_samples": clipped,
                    "notes": [n._asdict() for n in clip.notes],
                }
            )
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest
