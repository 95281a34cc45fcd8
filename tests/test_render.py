import numpy as np
import pytest
import soundfile as sf

from timbre_jax.errors import ParameterError
from timbre_jax.render import main
from timbre_jax.synth.automation import parse_note, read_automation, write_automation
from timbre_jax.synth.engine import Controls


def render(skip_run, tmp_path, *args):
    out = tmp_path / "out.wav"
    code = main(["--workdir", str(skip_run), "--out", str(out), *args])
    return code, out


def test_fixed_parameters_to_wav(skip_run, tmp_path):
    code, out = render(skip_run, tmp_path, "--latent", "0.2,0.8", "--note", "A",
                       "--seconds", "1.5", "--phase", "rtpghi")  # fmt: skip
    assert code == 0
    audio, rate = sf.read(out)
    assert rate == 44100 and len(audio) == round(1.5 * 44100) and 0.01 < np.abs(audio).max() < 1
    assert sf.info(out).subtype == "PCM_16"


def test_automation_replays_a_performance(skip_run, tmp_path):
    high = (0.8, 0.8)
    rows = [(0.0, Controls((0.2, 0.2), 0, 0.8, True)), (0.5, Controls(high, 7, 0.5, True)),
            (1.0, Controls(high, 7, 0.5, False)), (1.5, Controls(high, 7, 0.5, False))]  # fmt: skip
    write_automation(tmp_path / "curve.csv", rows, 2)
    assert read_automation(tmp_path / "curve.csv", 2) == rows
    code, out = render(skip_run, tmp_path, "--automation", str(tmp_path / "curve.csv"))
    assert code == 0
    audio, _ = sf.read(out)
    assert len(audio) >= 1.5 * 44100 - 1024 and np.abs(audio[-2048:]).max() == 0  # released


def test_input_recording_is_resynthesised(skip_run, tiny_audio, tmp_path):
    source = tiny_audio / "test" / "program073.wav"
    code, out = render(skip_run, tmp_path, "--input", str(source), "--scale", "1.0,0.5")
    assert code == 0
    audio, _ = sf.read(out)
    assert len(audio) == sf.info(source).frames and np.abs(audio).max() > 0


def test_note_names():
    assert [parse_note(n) for n in ("C", "c#", "Db", "B", "11")] == [0, 1, 1, 11, 11]
    with pytest.raises(ParameterError, match="H"):
        parse_note("H")


@pytest.mark.parametrize("args, message", [
    (["--latent", "0.5"], "--latent needs 2 values"), (["--note", "X"], "note"),
    (["--latent", "0.5,1.5"], "z1=1.5 is outside"),
    (["--seconds", "0"], "--seconds"), (["--automation", "missing.csv"], "missing.csv"),
    (["--input", "missing.wav"], "missing.wav"), (["--phase", "magic"], "magic"),
])  # fmt: skip
def test_bad_input_exits_2_naming_it(skip_run, tmp_path, capsys, args, message):
    code, out = render(skip_run, tmp_path, *args)
    assert code == 2 and message in capsys.readouterr().err and not out.exists()
