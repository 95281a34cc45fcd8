"""Mistakes a researcher makes with their own data: each gets one `error:` line and exit 2
before any work, and leaves every file as it was (nothing half-written, nothing that refuses
the corrected command)."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from timbre_jax import embed, mesh, pretrained, render, train
from timbre_jax.corpus import __main__ as corpus_cli
from timbre_jax.dsp.audio_io import write_wav
from timbre_jax.synth import __main__ as synth_cli
from timbre_jax.synth.automation import automation_header

ROOT = Path(__file__).resolve().parents[1]
HEADER = ",".join(automation_header(2))
WIDTH = len(automation_header(2))


def automation(*rows: str) -> str:
    """A 2-D model's automation CSV of `rows`, each padded with empty fields to the header's."""
    return "".join(f"{row}{',' * (WIDTH - 1 - row.count(','))}\n" for row in (HEADER, *rows))


def digest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under a folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tiny_audio, skip_run, tmp_path_factory) -> Path:
    """A folder of inputs, each wrong in one way, and a trained run."""
    root = tmp_path_factory.mktemp("inputs")
    # as trained: without the mesh another test may have swept into the shared run
    shutil.copytree(skip_run, root / "run", ignore=shutil.ignore_patterns("mesh*"))
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
    (root / "unsorted.csv").write_text(automation("1.0,0.5,0.5,0.8,C4:100", "0.5,0.5,0.5,0.8"))
    (root / "short.csv").write_text(f"{HEADER}\n0.0,0.5,0.5\n")
    (root / "take.csv").write_text(automation("0.0,0.5,0.5,0.8,C4:100", "1.0,0.5,0.5,0.8"))
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
                 "--out", "{out}/a.wav"], f"line 2: 3 fields where the header has {WIDTH}"),
}  # fmt: skip


M1 = ["--model", "one_octave"]
TRAIN = ["--config", "configs/default.py", "--workdir", "{out}/r",
         "--config.corpus={inputs}/unlabelled_corpus"]  # fmt: skip
# More of each command's mistakes, checked the same way (one line, exit 2, nothing changed).
MORE = {
    "render": [
        [*M1, "--latent", "0.5", "--out", "{out}/a.wav"],
        [*M1, "--latent", "0.5,x", "--out", "{out}/a.wav"],
        [*M1, "--latent", "2,2", "--out", "{out}/a.wav"],
        [*M1, "--note", "H", "--out", "{out}/a.wav"],
        [*M1, "--note", "C#", "--out", "{out}/a.wav"],
        [*M1, "--note", "200", "--out", "{out}/a.wav"],
        [*M1, "--velocity", "0", "--out", "{out}/a.wav"],
        [*M1, "--velocity", "128", "--out", "{out}/a.wav"],
        [*M1, "--gain", "1.5", "--out", "{out}/a.wav"],
        [*M1, "--seconds", "0", "--out", "{out}/a.wav"],
        [*M1, "--seconds", "-1", "--out", "{out}/a.wav"],
        [*M1, "--seconds", "nan", "--out", "{out}/a.wav"],
        [*M1, "--phase", "granular", "--out", "{out}/a.wav"],
        [*M1, "--out", "{out}/a.mp3"],
        [*M1, "--out", "{inputs}"],
        [*M1, "--out", "/proc/x/a.wav"],
        [*M1, "--automation", "{inputs}/missing.csv", "--out", "{out}/a.wav"],
        [*M1, "--automation", "{inputs}/a_file", "--out", "{out}/a.wav"],
        [*M1, "--input", "{inputs}/missing.wav", "--out", "{out}/a.wav"],
        [*M1, "--input", "{inputs}/a_file", "--out", "{out}/a.wav"],
        [*M1, "--input", "{inputs}/silent/s0.wav", "--scale", "1", "--out", "{out}/a.wav"],
        ["--model", "cello", "--out", "{out}/a.wav"],
        ["--workdir", "{inputs}/silent", "--out", "{out}/a.wav"],
        ["--workdir", "{inputs}/nowhere", "--out", "{out}/a.wav"],
        [*M1, "--seconds", "four", "--out", "{out}/a.wav"],
        [*M1],
    ],
    "corpus": [
        ["build", "--audio", "{inputs}/nowhere", "--out", "{out}/c"],
        ["build", "--audio", "{inputs}/silent", "--out", "{out}/c", "--chroma", "magic"],
        ["build", "--audio", "{inputs}/silent", "--out", "{out}/c", "--pitch", "guess"],
        ["build", "--audio", "{inputs}/silent", "--out", "{inputs}/pitch_300"],
        ["build", "--audio", "{inputs}/run", "--out", "{out}/c"],
        ["build", "--out", "{out}/c"],
        ["render", "--preset", "violins", "--out", "{out}/a"],
        ["render", "--preset", "tiny", "--out", "{inputs}/silent"],
        ["render", "--preset", "tiny", "--out", "{out}/a", "--soundfont", "{inputs}/none.sf2"],
        ["render", "--preset", "tiny", "--out", "{out}/a", "--soundfont", "{inputs}/a_file"],
        ["info", "{inputs}/silent"],
        ["info", "{inputs}/nowhere"],
        ["shuffle"],
    ],
    "train": [
        ["--config", "configs/default.py", "--workdir", "{out}/r",
         "--config.corpus={inputs}/silent"],
        *([*TRAIN, field] for field in [
            "--config.train.batch_size=0", "--config.train.epochs=0",
            "--config.model.bottleneck=relu", "--config.model.augment=both",
            "--config.model.kind=gan", "--config.train.learning_rate=-1",
            "--config.model.conditioning=octave"]),
        ["--config", "configs/default.py", "--workdir", "{inputs}/run",
         "--config.corpus={inputs}/unlabelled_corpus"],
        ["--config", "configs/pitch.py:nope", "--workdir", "{out}/r"],
        ["--config", "configs/notes.py", "--workdir", "{out}/r"],
        ["--workdir", "{out}/r"],
    ],
    "mesh": [
        ["--workdir", "{inputs}/run", "--points", "1"],
        ["--workdir", "{inputs}/run", "--sobol", "1"],
        ["--workdir", "{inputs}/run", "--chunk", "0"],
        ["--workdir", "{inputs}/run", "--chunk", "1000000000"],
        ["--workdir", "{inputs}/nowhere"],
        ["--workdir", "{inputs}/silent"],
        ["--table", "{inputs}/run"],
        ["--table", "{inputs}/nowhere"],
        ["--points", "10"],
        ["--workdir", "{inputs}/run", "--points", "ten"],
    ],
    "embed": [
        ["--workdir", "{inputs}/nowhere"],
        ["--workdir", "{inputs}/silent"],
        ["--workdir", "{inputs}/run", "--split", "all"],
        ["--grid", "{inputs}/nowhere", "--out", "{out}/g.png"],
        [],
    ],
    "pretrained": [
        ["export", "--workdir", "{inputs}/nowhere", "--name", "x", "--out", "{out}/m"],
        ["export", "--workdir", "{inputs}/silent", "--name", "x", "--out", "{out}/m"],
        ["export", "--workdir", "{inputs}/run", "--name", "x", "--out", "{inputs}/silent"],
        ["export", "--workdir", "{inputs}/run", "--name", "../x"],
        ["export", "--workdir", "{inputs}/run", "--name", ""],
        ["export", "--workdir", "{inputs}/run"],
        ["export", "--workdir", "{inputs}/run", "--name", "one_octave", "--out",
         str(ROOT / "results" / "pretrained" / "one_octave"), "--overwrite"],
        ["import", "--name", "x"],
    ],
    "synth": [
        [*M1, "--voices", "0"],
        [*M1, "--voices", "many"],
        [*M1, "--osc", "70000"],
        [*M1, "--quit-after", "-1"],
        [*M1, "--record-dir", "{inputs}/a_file"],
        [*M1, "--phase", "granular"],
        [*M1, "--cc", "z0=200"],
        [*M1, "--cc", "z9=1"],
        [*M1, "--cc", "nonsense"],
        [*M1, "--cc", "z0=6"],  # RPN data entry
        [*M1, "--bend-range", "60"],
        [*M1, "--vibrato-depth", "-5"],
        [*M1, "--vibrato-rate", "50"],
        [*M1, "--rate", "-48000"],
        [*M1, "--channels", "0"],
        [*M1, "--midi-port", "no such keyboard"],
        [*M1, "--device", "no such device"],
        ["--model", "cello"],
        ["--workdir", "{inputs}/nowhere"],
        [],
    ],
}  # fmt: skip
MODULES = {"render": render, "corpus": corpus_cli, "train": train, "mesh": mesh,
           "embed": embed, "pretrained": pretrained, "synth": synth_cli}  # fmt: skip
MORE_CASES = {f"{name} {' '.join(argv)}": (MODULES[name], argv, "")
              for name, cases in MORE.items() for argv in cases}  # fmt: skip


def run_main(module, argv) -> int:
    """A command's exit status, whether argparse (SystemExit) or the command returns it."""
    try:
        return module.main(argv)
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize(
    "case",
    [*sorted(CASES), *(pytest.param(c, marks=pytest.mark.slow) for c in sorted(MORE_CASES))],
)
def test_a_mistake_is_one_line_and_changes_nothing(case, inputs, tmp_path, capsys, monkeypatch):
    module, argv, message = (CASES | MORE_CASES)[case]
    monkeypatch.chdir(ROOT)
    argv = [a.format(inputs=inputs, out=tmp_path) for a in argv]
    before, shipped = digest(inputs), digest(ROOT / "results" / "pretrained")
    assert run_main(module, argv) == 2
    err = capsys.readouterr().err  # a progress bar may come first, on what was read
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert errors == [err.splitlines()[-1]] and message in errors[0], err
    assert "Traceback" not in err
    assert digest(inputs) == before and digest(ROOT / "results" / "pretrained") == shipped
    assert list(tmp_path.iterdir()) == []  # no output, and no workdir left to refuse a retry
