import librosa
import numpy as np
import pytest
import soundfile as sf

from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.dsp.chroma import NOTE_NAMES
from timbre_jax.errors import ParameterError
from timbre_jax.model.run import load_run
from timbre_jax.render import main
from timbre_jax.synth.automation import (
    PlayedWith,
    parse_chord,
    parse_note,
    read_automation,
    render_automation,
    write_automation,
)
from timbre_jax.synth.engine import Controls, SynthEngine


def render(skip_run, tmp_path, *args):
    out = tmp_path / "out.wav"
    code = main(["--workdir", str(skip_run), "--out", str(out), *args])
    return code, out


def test_fixed_parameters_to_wav(skip_run, tmp_path):
    code, out = render(skip_run, tmp_path, "--latent", "0.2,0.8", "--note", "E",
                       "--seconds", "1.5", "--phase", "rtpghi")  # fmt: skip
    assert code == 0
    audio, rate = sf.read(out)
    tail = round(44100 * SynthEngine(load_run(skip_run)).tail_seconds())
    assert rate == 44100 and len(audio) == round(1.5 * 44100) + tail
    assert 0.01 < np.abs(audio).max() < 1 and sf.info(out).subtype == "PCM_16"
    assert np.abs(audio[-441:]).max() < 0.01  # the last 10 ms: below -40 dBFS, released


def test_a_chord_sounds_its_notes_without_clipping(tmp_path):
    out = tmp_path / "chord.wav"
    assert main(["--model", "one_octave", "--note", "C,E,G", "--seconds", "1.5",
                 "--velocity", "127", "--gain", "1", "--out", str(out)]) == 0  # fmt: skip
    audio, _ = sf.read(out)
    chroma = librosa.feature.chroma_stft(y=audio[: 44100 + 22050], sr=44100, n_fft=4096)
    strongest = {NOTE_NAMES[i] for i in np.argsort(chroma.mean(axis=1))[::-1][:3]}
    assert strongest == {"C", "E", "G"}
    assert np.abs(audio).max() < 1.0 and np.abs(audio[-441:]).max() < 0.01


def test_automation_replays_a_performance(skip_run, tmp_path):
    high = (0.8, 0.8)
    rows = [(0.0, Controls((0.2, 0.2), 0.8, ((60, 100),))),
            (0.5, Controls(high, 0.5, ((67, 100), (64, 40)))),
            (1.0, Controls(high, 0.5, ())), (1.5, Controls(high, 0.5, ()))]  # fmt: skip
    write_automation(tmp_path / "curve.csv", rows, 2)
    assert read_automation(tmp_path / "curve.csv", 2) == (rows, PlayedWith())
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


def test_old_one_note_automation_still_reads(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("time,z0,z1,note,gain,gate\n0.0,0.2,0.2,E,0.8,1\n1.0,0.2,0.2,E,0.8,0\n")
    old = {"residual": -20.0}  # the harmonic phase's residual before it was a column
    rows = [(0.0, Controls((0.2, 0.2), 0.8, ((64, 100),), **old)),
            (1.0, Controls((0.2, 0.2), 0.8, (), **old))]  # fmt: skip
    assert read_automation(path, 2) == (rows, PlayedWith())


@pytest.mark.parametrize("line, message", [
    ("0.5,9,9,0.8,60:100", "line 3: latent z0=9.0 is outside"),
    ("0.5,0.2,0.2,1.5,60:100", "line 3: gain must be in [0, 1]"),
    ("0.5,0.2,0.2,0.8,200:100", "line 3: a note must be a MIDI pitch"),
    ("0.5,0.2,0.2,0.8,60:0", "line 3: velocity must be 1-127"),
    ("-1,0.2,0.2,0.8,60:100", "line 3: time must be"),
    ("0.5,x,0.2,0.8,60:100", "line 3: could not convert"),
])  # fmt: skip
def test_automation_rows_are_checked_by_line(skip_run, tmp_path, capsys, line, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"time,z0,z1,gain,notes\n0.0,0.2,0.2,0.8,60:100\n{line}\n")
    code, out = render(skip_run, tmp_path, "--automation", str(path))
    assert code == 2 and message in capsys.readouterr().err and not out.exists()


def test_note_names():
    assert [parse_note(n) for n in ("C", "c#", "Db", "B", "11")] == [60, 61, 61, 71, 71]
    assert [parse_note(n) for n in ("A3", "C-1", "G9", "48", "Bb5")] == [57, 0, 127, 48, 82]
    assert parse_chord("C,E,G") == parse_chord("60,64,67") == (60, 64, 67)
    for bad in ("H", "C10", "128", "C,C"):
        with pytest.raises(ParameterError, match="note|chord|MIDI"):
            parse_chord(bad)


@pytest.mark.parametrize("args, message", [
    (["--latent", "0.5"], "--latent needs 2 values"), (["--note", "X"], "note"),
    (["--velocity", "0"], "velocity"), (["--gain", "2"], "--gain"),
    (["--latent", "0.5,1.5"], "z1=1.5 is outside"),
    (["--seconds", "0"], "--seconds"), (["--automation", "missing.csv"], "missing.csv"),
    (["--input", "missing.wav"], "missing.wav"), (["--phase", "magic"], "magic"),
])  # fmt: skip
def test_bad_input_exits_2_naming_it(skip_run, tmp_path, capsys, args, message):
    code, out = render(skip_run, tmp_path, *args)
    assert code == 2 and message in capsys.readouterr().err and not out.exists()


def test_the_output_is_checked_before_any_work(skip_run, tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    existing = tmp_path / "existing.wav"
    existing.write_bytes(b"earlier take")
    cases = [(tmp_path / "x.mp3", "render writes WAV files"), (folder, "is a folder"),
             (a_file / "x.wav", "cannot make its folder"),
             (existing, "exists: pass --overwrite to replace it")]  # fmt: skip
    for out, message in cases:
        code = main(["--workdir", str(skip_run), "--out", str(out), "--seconds", "0.2"])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert existing.read_bytes() == b"earlier take"
    assert main(["--workdir", str(skip_run), "--out", str(existing), "--seconds", "0.2",
                 "--overwrite"]) == 0  # fmt: skip
    assert sf.info(existing).samplerate == 44100


@pytest.mark.parametrize("args, message", [
    (["--seconds", "nan"], "--seconds must be a positive number"),
    (["--latent", "-0.1,0.5"], "z0=-0.1 is outside"),  # read as a value, not an option
])  # fmt: skip
def test_numbers_that_argparse_would_misread(skip_run, tmp_path, capsys, args, message):
    code, out = render(skip_run, tmp_path, *args)
    assert code == 2 and message in capsys.readouterr().err and not out.exists()


def test_automation_takes_note_names_and_is_checked_as_note_is(tmp_path, capsys):
    path = tmp_path / "names.csv"
    path.write_text("time,z0,z1,gain,notes\n0.0,0.5,0.5,0.8,C4:100 E4\n0.5,0.5,0.5,0.8,\n")
    assert read_automation(path, 2)[0][0][1].notes == ((60, 100), (64, 100))
    path.write_text("time,z0,z1,gain,notes\n0.0,0.5,0.5,0.8,120:100\n")
    code = main(["--model", "keys", "--automation", str(path), "--out", str(tmp_path / "a.wav")])
    err = capsys.readouterr().err
    assert code == 2 and "line 2: MIDI 120 is outside the notes keys was trained on" in err
    code = main(["--model", "keys", "--note", "120", "--out", str(tmp_path / "a.wav")])
    assert code == 2 and "--note 120: MIDI 120 is outside" in capsys.readouterr().err


@pytest.mark.slow
def test_a_take_replays_sample_for_sample_with_its_phase_methods(skip_run, tmp_path, capsys):
    run = load_run(skip_run)
    rows = [(0.0, Controls((0.2, 0.2), 0.8, ((60, 100),), "noise")),
            (0.3, Controls((0.7, 0.4), 0.8, ((60, 100), (67, 90)), "rtpghi")),
            (0.6, Controls((0.7, 0.4), 0.8, (), "rtpghi"))]  # fmt: skip
    write_automation(tmp_path / "take.csv", rows, 2)
    assert read_automation(tmp_path / "take.csv", 2) == (rows, PlayedWith())
    played = SynthEngine(run)  # an engine that has played before, as the panel's has
    played.note_on(64)
    played.set_phase("rtpghi")
    played.render(0.5)
    first = render_automation(played, rows)
    again = render_automation(played, rows)
    fresh = render_automation(SynthEngine(run), rows)
    np.testing.assert_array_equal(first, fresh)
    np.testing.assert_array_equal(again, fresh)
    assert played.phase == "rtpghi"  # the take's last phase method
    code, out = render(skip_run, tmp_path, "--automation", str(tmp_path / "take.csv"))
    assert code == 0
    write_wav(tmp_path / "fresh.wav", fresh, sample_rate=44100)
    np.testing.assert_array_equal(sf.read(out)[0], sf.read(tmp_path / "fresh.wav")[0])
    (tmp_path / "take.csv").write_text(
        "time,z0,z1,gain,notes,phase\n0.0,0.5,0.5,0.8,60:100,harmonic\n"
    )
    code, _ = render(skip_run, tmp_path, "--automation", str(tmp_path / "take.csv"),
                     "--overwrite")  # fmt: skip
    assert code == 2 and "cannot play phase 'harmonic'" in capsys.readouterr().err
