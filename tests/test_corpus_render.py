import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from timbre_jax.corpus.render import default_soundfont, render_preset
from timbre_jax.errors import ParameterError


def test_render_writes_16_bit_clips_and_a_manifest(tiny_audio):
    manifest = json.loads((tiny_audio / "manifest.json").read_text())
    assert manifest["preset"] == "tiny" and manifest["soundfont"]["name"] == "TimGM6mb.sf2"
    assert [c["split"] for c in manifest["clips"]] == ["train", "val", "test"]
    assert manifest["clips"][1]["program_name"] == "Violin"
    for clip in manifest["clips"]:
        info = sf.info(tiny_audio / clip["file"])
        assert (info.subtype, info.samplerate, info.channels) == ("PCM_16", 44100, 1)
        assert info.frames == round(1.2 * 44100)
        assert [n["pitch"] for n in clip["notes"]] == [60, 64, 67]
        assert clip["clipped_samples"] == 0
        signal, _ = sf.read(tiny_audio / clip["file"])
        assert np.abs(signal).max() > 0.01  # the instrument sounds


def test_render_is_deterministic(tiny_audio, tmp_path):
    render_preset("tiny", tmp_path / "again", progress=False)
    for clip in ("train/program000.wav", "val/program040.wav", "test/program073.wav"):
        assert (tmp_path / "again" / clip).read_bytes() == (tiny_audio / clip).read_bytes()


def test_any_soundfont_path_renders(tmp_path):
    bank = tmp_path / "my bank.sf2"
    shutil.copy(default_soundfont(), bank)
    manifest = render_preset("tiny", tmp_path / "out", soundfont=bank, progress=False)
    assert manifest["soundfont"]["name"] == "my bank.sf2"


def test_existing_output_is_refused_unless_overwrite(tiny_audio, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ParameterError, match="--overwrite"):
        render_preset("tiny", out, progress=False)
    render_preset("tiny", out, overwrite=True, progress=False)
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("content", [None, b"not a soundfont"])
def test_missing_or_broken_soundfont_is_named_and_writes_nothing(tmp_path, content):
    bank = tmp_path / "bank.sf2"
    if content is not None:
        bank.write_bytes(content)
    with pytest.raises(ParameterError, match="bank.sf2"):
        render_preset("tiny", tmp_path / "out", soundfont=bank, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["bank.sf2"] if content else [])
