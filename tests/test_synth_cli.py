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
    (["--legato", "--mpe"], "--legato plays one line of notes and --mpe a note per channel"),
    (["--trace", "/nowhere/trace.npz"], "--trace '/nowhere/trace.npz': /nowhere is not a writable"),
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


@pytest.mark.slow
def test_a_missing_midi_port_is_one_line_even_from_alsa():
    """Where there is no ALSA sequencer (a container, CI), ALSA's library writes its own error
    to the C stderr when the ports are listed: the synth silences it and says ours alone."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "timbre_jax.synth", "--model", "one_octave",
               "--midi-port", "no such keyboard"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = run.stderr.splitlines()
    assert run.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: MIDI input 'no such keyboard' not found; inputs: ")
