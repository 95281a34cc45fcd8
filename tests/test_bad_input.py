"""Mistakes a researcher makes with their own data: each gets one `error:` line and exit 2
before any work, and leaves every file as it was (nothing half-written, nothing that refuses
the corrected command)."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from timbre_jax import mesh, render, train
from timbre_jax.corpus import __main__ as corpus_cli
from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.synth.automation import automation_header

ROOT = Path(__file__).resolve().parents[1]
HEADER = ",".join(automation_header(2))


def digest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under a folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tiny_audio, skip_run, tmp_path_factory) -> Path:
    """A folder of inputs, each wrong in one way, and a trained run."""
    root = tmp_path_factory.mktemp("inputs")
    shutil.copytree(skip_run, root / "run")
    (root / "silent").mkdir()
    for k in range(3):
        write_wav(root / "silent" / f"s{k}.wav", np.zeros(44100, np.float32), sample_rate=44100)
    shutil.copytree(tiny_audio, root / "pitch_300")
    manifest = json.loads((root / "pitch_300" / "manifest.json").read_text())
    manifest["clips"][0]["notes"][0]["pitch"] = 300
    (root / "pitch_300" / "manifest.json").write_text(json.dumps(manifest))
    (root / "unlabelled").mkdir()  # the tiny audio without its manifest: frames have no note
    for wav in tiny_audio.rglob("*.wav"):
        shutil.copy(wav, root / "unlabelled" / wav.name)
    assert corpus_cli.main(["build", "--audio", str(root / "unlabelled"), "--out",
                            str(root / "unlabelled_corpus")]) == 0  # fmt: skip
    (root / "a_file").write_text("not a folder\n")
    (root / "unsorted.csv").write_text(
        f"{HEADER}\n1.0,0.5,0.5,0.8,C4:100,,,\n0.5,0.5,0.5,0.8,,,,\n"
    )
    (root / "short.csv").write_text(f"{HEADER}\n0.0,0.5,0.5\n")
    (root / "take.csv").write_text(f"{HEADER}\n0.0,0.5,0.5,0.8,C4:100,,,\n1.0,0.5,0.5,0.8,,,,\n")
    return root


CASES = {
    "corpus build from a file": (
        corpus_cli, ["build", "--audio", "{inputs}/a_file", "--out", "{out}/c"], "is a file"),
    "corpus build of silence": (
        corpus_cli, ["build", "--audio", "{inputs}/silent", "--out", "{out}/new/c"], "silent?"),
    "corpus build, manifest pitch 300": (
        corpus_cli, ["build", "--audio", "{inputs}/pitch_300", "--out", "{out}/c"],
        "pitch 300; a pitch is a MIDI note 0-127"),
    "corpus build into /proc": (
        corpus_cli, ["build", "--audio", "{inputs}/silent", "--out", "/proc/x/c"], "cannot write"),
    "train into a file": (
        train, ["--config", "configs/default.py", "--workdir", "{inputs}/a_file",
                "--config.corpus={inputs}/unlabelled_corpus"], "is a file: give a folder"),
    "train a note model on frames without notes": (
        train, ["--config", "configs/default.py", "--workdir", "{out}/run",
                "--config.corpus={inputs}/unlabelled_corpus",
                "--config.model.conditioning=note"], "no frame of the train split"),
    "render --scale without --input": (
        render, ["--model", "one_octave", "--scale", "1,1", "--out", "{out}/a.wav"],
        "--scale goes with --input"),
    "render --voices 0": (
        render, ["--model", "one_octave", "--automation", "{inputs}/take.csv", "--voices", "0",
                 "--out", "{out}/a.wav"], "--voices must be at least 1"),
    "render --voices with --note": (
        render, ["--model", "one_octave", "--note", "C", "--voices", "2", "--out", "{out}/a.wav"],
        "--voices goes with --automation"),
    "render --automation with --note": (
        render, ["--model", "one_octave", "--automation", "{inputs}/take.csv", "--note", "E",
                 "--out", "{out}/a.wav"], "--note does not go with --automation"),
    "render --seconds 1e7": (
        render, ["--model", "one_octave", "--seconds", "1e7", "--out", "{out}/a.wav"],
        "s of audio needs about"),
    "render unsorted automation": (
        render, ["--model", "one_octave", "--automation", "{inputs}/unsorted.csv",
                 "--out", "{out}/a.wav"], "line 3: time 0.5 comes before the previous row's 1.0"),
    "mesh --points 100000": (
        mesh, ["--workdir", "{inputs}/run", "--points", "100000"], "hours on this machine"),
    "render a short automation row": (
        render, ["--model", "one_octave", "--automation", "{inputs}/short.csv",
                 "--out", "{out}/a.wav"], "line 2: 3 fields where the header has 8"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_mistake_is_one_line_and_changes_nothing(case, inputs, tmp_path, capsys, monkeypatch):
    module, argv, message = CASES[case]
    monkeypatch.chdir(ROOT)
    argv = [a.format(inputs=inputs, out=tmp_path) for a in argv]
    before = digest(inputs)
    assert module.main(argv) == 2
    err = capsys.readouterr().err  # a progress bar may come first, on what was read
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert errors == [err.splitlines()[-1]] and message in errors[0], err
    assert "Traceback" not in err
    assert digest(inputs) == before
    assert list(tmp_path.iterdir()) == []  # no output, and no workdir left to refuse a retry
