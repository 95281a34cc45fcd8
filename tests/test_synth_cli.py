"""`python -m timbre_jax.synth`: every mistake is one line and exit status 2, before the engine
compiles or an audio device opens."""

import pytest

from timbre_jax.synth import __main__ as synth


@pytest.mark.parametrize("argv, message", [
    (["--midi-api", "FOO"], "--midi-api 'FOO' is not one of"),
    (["--channels", "0"], "--channels must be positive, got 0"),
    (["--rate", "0"], "--rate must be positive, got 0"),
    (["--voices", "0"], "--voices must be positive, got 0"),
    (["--osc", "70000"], "--osc must be a UDP port 0-65535, got 70000"),
    (["--quit-after", "nan"], "--quit-after must be a positive number of seconds"),
    (["--cc", "z0=64"], "a controller is 0-127 other than"),
    (["--cc", "z5=1"], "the model has z0-z1"),
])  # fmt: skip
def test_a_mistake_is_one_line(argv, message, capsys):
    assert synth.main(["--model", "violin", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("flag", ["--headless", "--play"])
def test_playing_without_an_audio_output_is_refused(flag, capsys, monkeypatch):
    monkeypatch.setattr(synth, "default_output_available", lambda: False)
    assert synth.main(["--model", "violin", flag]) == 2
    assert f"{flag} needs an audio output and PortAudio finds none" in capsys.readouterr().err
