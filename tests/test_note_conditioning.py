"""Note conditioning (chroma + octave) against the paper's chroma conditioning, on notes in
three octaves rendered from the SoundFont."""

import jax.numpy as jnp
import numpy as np
import pytest

from tests.helpers import assert_drawn, smoke
from timbre_jax.corpus.store import load_split
from timbre_jax.dsp.chroma import note_name
from timbre_jax.dsp.note_estimate import estimate_notes, note_templates
from timbre_jax.errors import ParameterError
from timbre_jax.model.conditioning import (
    condition_of_pitches,
    condition_size,
    fold_into_range,
    split_condition,
)
from timbre_jax.model.run import PRETRAINED_DIR, load_run
from timbre_jax.render import main as render_main
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.training.config import validate_config
from timbre_jax.training.loop import train_and_evaluate

PITCHES = (48, 55, 60, 67, 72, 79)  # what tiny_octaves plays: C3 G3 C4 G4 C5 G5


def test_note_vectors_hold_class_and_octave():
    vectors = np.asarray(condition_of_pitches(np.array([60, 61, 48]), "note"))
    assert vectors.shape == (3, condition_size("note")) == (3, 23)
    assert [np.flatnonzero(v).tolist() for v in vectors] == [[0, 17], [1, 17], [0, 16]]
    np.testing.assert_array_equal(condition_of_pitches(np.array([61]), "chroma"), np.eye(12)[[1]])


def test_notes_outside_the_range_move_by_octaves():
    got = fold_into_range(np.array([30, 48, 79, 90, 100]), 48, 79)
    np.testing.assert_array_equal(got, [54, 48, 79, 78, 76])


def test_an_unknown_conditioning_is_named(tiny_corpus):
    with pytest.raises(ParameterError, match="model.conditioning must be one of"):
        validate_config(smoke(tiny_corpus, model__conditioning="octave"))


def test_the_octaves_only_pitch_term_needs_note_conditioning(tiny_corpus):
    with pytest.raises(ParameterError, match="pitch_octaves_only needs model.conditioning"):
        validate_config(smoke(tiny_corpus, model__conditioning="chroma", train__pitch_weight=1e-4,
                              train__pitch_octaves_only=True))  # fmt: skip


def test_shipped_models_from_before_load_as_chroma_models():
    run = load_run(PRETRAINED_DIR / "one_octave")
    assert run.conditioning == "chroma" and run.note_range is None


@pytest.fixture(scope="module")
def runs(octave_corpus, tmp_path_factory):
    """A chroma and a note model, same seed and epochs. (What the pitch term does to a note
    model is a research result: `launch/pitch_experiment.py` reports it, results/pitch.md.)"""
    out = {}
    for conditioning in ("chroma", "note"):
        workdir = tmp_path_factory.mktemp("runs") / conditioning
        config = smoke(octave_corpus, model__conditioning=conditioning, train__epochs=60)
        train_and_evaluate(config, workdir)
        out[conditioning] = load_run(workdir)
    return out


def decoded_note_accuracy(run, grid=None) -> float:
    """How often the decoded frame's estimated note is the one conditioned on, over the latent
    points `grid` [k, 2] (default: a 5 x 5 grid of the plane) and every trained note."""
    if grid is None:
        grid = np.stack(np.meshgrid(*[np.linspace(0.1, 0.9, 5)] * 2), -1).reshape(-1, 2)
    z = np.repeat(grid, len(PITCHES), axis=0).astype(np.float32)
    pitches = np.tile(PITCHES, len(grid))
    frames = run.apply(z, condition_of_pitches(pitches, run.conditioning), method="decode")
    notes = estimate_notes(
        frames, templates=jnp.asarray(note_templates(sample_rate=44100, n_fft=4096))
    )
    return float(np.mean(np.asarray(notes) == pitches))


@pytest.mark.slow
def test_a_note_model_plays_the_octave_it_is_asked_for(runs):
    note, chroma = runs["note"], runs["chroma"]
    assert note.conditioning == "note" and note.note_range == (48, 79)
    assert note.model.conditioning == "note" and chroma.note_range is None
    note_accuracy, chroma_accuracy = decoded_note_accuracy(note), decoded_note_accuracy(chroma)
    assert note_accuracy > chroma_accuracy, (note_accuracy, chroma_accuracy)
    assert note_accuracy > 0.5


@pytest.mark.slow
def test_the_engine_plays_a_note_model_within_its_range(runs):
    engine = SynthEngine(runs["note"])
    np.testing.assert_array_equal(engine.decoded_pitches(np.array([36, 60, 91])), [48, 60, 79])
    engine.note_on(36)  # two octaves below the range: decoded as C3
    assert np.abs(engine.render(0.5)).max() > 0


@pytest.mark.slow
def test_render_refuses_a_note_outside_the_range(runs, tmp_path, capsys):
    out = tmp_path / "x.wav"
    code = render_main(["--workdir", str(runs["note"].folder), "--note", "C6", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "MIDI 84 is outside the notes note was trained on, C3-G5 (MIDI 48-79)" in (
        capsys.readouterr().err
    )
    assert render_main(["--workdir", str(runs["note"].folder), "--note", "C3",
                        "--seconds", "0.5", "--out", str(out)]) == 0  # fmt: skip


def test_unlabelled_frames_are_left_out_of_note_conditioning(tiny_corpus):
    split = load_split(tiny_corpus, "train")
    condition, keep = split_condition(split, "note")
    assert condition.shape == (len(split.frames), 23)
    np.testing.assert_array_equal(keep, np.asarray(split.pitch) >= 0)
    assert split_condition(split, "chroma")[1].all()


@pytest.mark.slow
def test_the_mesh_scores_exact_notes_of_both_kinds(runs, capsys):
    from timbre_jax.analysis.mesh_sweep import sweep, unit_mesh_points
    from timbre_jax.mesh import main as mesh_main

    note, chroma = (sweep(runs[k], points=8, chunk=64, progress=False) for k in ("note", "chroma"))
    # the note model is swept over its whole range, the chroma model scored on the same notes
    assert list(note["notes"]) == list(chroma["notes"]) == [note_name(p) for p in range(48, 80)]
    assert [n for n, v in note["notes"].items() if v["trained"]] == [note_name(p) for p in PITCHES]
    assert note["points_per_class"] == chroma["points_per_class"] == 64
    assert note["exact_accuracy"] > chroma["exact_accuracy"]
    # the chroma model decodes one frame per class for all three octaves: at most one is exact
    c_octaves = [chroma["notes"][f"C{o}"]["exact"] for o in (3, 4, 5)]
    assert sum(c_octaves) <= 1 + 1e-9
    # G4 on the note model, decoded directly over the same 8 x 8 mesh
    low, high = (np.asarray(v, np.float32) for v in note["span"])
    z = low + unit_mesh_points(np.arange(64), 8, 2).astype(np.float32) * (high - low)
    frames = runs["note"].apply(z, condition_of_pitches(np.full(64, 67), "note"), method="decode")
    templates = jnp.asarray(note_templates(sample_rate=44100, n_fft=4096))
    expected = np.mean(np.asarray(estimate_notes(frames, templates=templates)) == 67)
    assert note["notes"]["G4"]["exact"] == pytest.approx(expected)
    assert mesh_main(["--workdir", str(runs["note"].folder), "--points", "6"]) == 0
    assert "exact note" in capsys.readouterr().out
    assert_drawn(runs["note"].folder / "plots" / "mesh_notes.png")


@pytest.mark.slow
def test_the_panel_says_what_the_model_plays(runs, qtbot, tmp_path):
    from pyqtgraph.Qt import QtWidgets

    from timbre_jax.synth.panel import CHROMA_NOTE, SynthPanel
    from timbre_jax.synth.session import Session

    texts = {}
    for kind, run in runs.items():
        panel = SynthPanel(
            Session(run, SynthEngine(run), record_dir=tmp_path), low=[0, 0], high=[1, 1]
        )
        qtbot.addWidget(panel)
        texts[kind] = [label.text() for label in panel.findChildren(QtWidgets.QLabel)]
        if kind == "note":
            panel.session.note_on(96)  # C7, above the trained G5: played as C5
            panel.redraw()
            assert "C7->C5" in panel.voices.text()
    assert CHROMA_NOTE in texts["chroma"]
    assert any("trained C3-G5" in text for text in texts["note"])


@pytest.mark.slow
def test_the_experiment_tabulates_and_draws_both_kinds(runs, tmp_path, monkeypatch):
    import json
    from pathlib import Path

    from timbre_jax.analysis.mesh_sweep import sweep

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "launch"))
    import notes_experiment

    workdirs = {f"octaves_{kind}": runs[kind].folder for kind in ("chroma", "note")}
    rows = []
    for row, workdir in workdirs.items():
        result = sweep(runs[row.split("_")[1]], points=8, chunk=64, progress=False)
        (workdir / "mesh.json").write_text(json.dumps(result))
        final = json.loads((workdir / "final.json").read_text())
        rows.append(notes_experiment.table_row(row, final, notes_experiment.ensure_mesh(workdir)))
    assert [r[:3] for r in rows] == [["octaves", "chroma", 60], ["octaves", "note", 60]]
    assert float(rows[1][6]) > float(rows[0][6])  # exact-note accuracy
    # a chroma model's planes: the decodes of a class stand for each of its notes
    planes, extent, trained = notes_experiment.decoded_planes(workdirs["octaves_chroma"])
    assert trained == set(PITCHES) and set(planes) == set(PITCHES)
    np.testing.assert_array_equal(planes[48], planes[72])
    notes_experiment.figure(workdirs, tmp_path / "figure.png")
    assert_drawn(tmp_path / "figure.png")
