import json

from timbre_jax.corpus.__main__ import main


def test_render_build_info_from_the_command_line(tmp_path, capsys):
    audio, corpus = tmp_path / "audio", tmp_path / "corpus"
    assert main(["render", "--preset", "tiny", "--out", str(audio)]) == 0
    assert main(["build", "--audio", str(audio), "--out", str(corpus)]) == 0
    assert main(["info", str(corpus)]) == 0
    text = capsys.readouterr().out
    assert "chroma accuracy against the sounding note" in text and "train" in text
    assert main(["info", str(corpus), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == sum(s["frames"] for s in report["splits"].values())
    assert set(report["splits"]["train"]["chroma_histogram"]) >= {"C", "F#", "B"}


def test_errors_exit_2_with_one_line(tmp_path, capsys):
    assert main(["render", "--preset", "nope", "--out", str(tmp_path / "a")]) == 2
    assert main(["info", str(tmp_path)]) == 2
    assert main(["build", "--audio", str(tmp_path), "--out", str(tmp_path / "c"),
                 "--chroma", "cqt"]) == 2  # fmt: skip
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)
    assert "'nope'" in errors[0] and "corpus.json" in errors[1] and "'cqt'" in errors[2]


def test_a_corpus_without_notes_says_what_it_cannot_do(tiny_audio, tmp_path, capsys):
    import shutil

    for wav in tiny_audio.rglob("*.wav"):  # the audio without its manifest
        shutil.copy(wav, tmp_path / wav.name)
    assert main(["build", "--audio", str(tmp_path), "--out", str(tmp_path / "corpus")]) == 0
    out = capsys.readouterr().out
    assert "no frame has a note" in out and "--pitch pyin" in out
    assert main(["build", "--audio", str(tiny_audio), "--out", str(tmp_path / "labelled")]) == 0
    assert "no frame has a note" not in capsys.readouterr().out
