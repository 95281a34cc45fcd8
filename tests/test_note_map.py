"""The decoded-note map: verdicts, the maps shipped with the note models, and the panel's
shading of the pad for held notes (a real Qt loop, offscreen)."""

import shutil

import numpy as np
import pytest

from timbre_jax.analysis.decode_measure import UNPITCHED
from timbre_jax.analysis.note_map import (
    NO_PITCH,
    NOTE_MAP,
    OCTAVE,
    OTHER,
    RIGHT,
    NoteMap,
    load_note_map,
    make_note_decoder,
    shade,
    subsample,
    verdicts,
)
from timbre_jax.model.run import PRETRAINED_DIR, load_run
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.pad import HARMONIC_TEXT, SHADES
from timbre_jax.synth.panel import SynthPanel
from timbre_jax.synth.session import Session


def test_verdicts_say_right_octave_other_and_no_pitch():
    decoded = np.array([[61, 73], [64, UNPITCHED]], np.int8)
    assert verdicts(decoded, 61).tolist() == [[RIGHT, OCTAVE], [OTHER, NO_PITCH]]
    chord = NoteMap({61: decoded, 64: np.full((2, 2), 64, np.int8)}, (0, 1, 0, 1))
    assert shade(chord, [61, 64]).tolist() == [[RIGHT, OCTAVE], [OTHER, NO_PITCH]]  # the worst
    assert shade(chord, [64]).tolist() == [[RIGHT, RIGHT], [RIGHT, RIGHT]]
    assert shade(chord, [70]) is None


def test_subsampling_keeps_the_cells_nearest_the_coarse_centres():
    fine = np.arange(9 * 9).reshape(9, 9)
    assert subsample(fine, 3).tolist() == [[10, 13, 16], [37, 40, 43], [64, 67, 70]]
    assert subsample(fine, 12) is fine


@pytest.mark.parametrize("name", ["keys", "violin"])
def test_shipped_note_models_start_where_every_trained_note_is_right(name):
    run = load_run(PRETRAINED_DIR / name)
    note_map = load_note_map(run.folder)
    assert tuple(sorted(note_map.notes)) == run.trained_notes
    cells = next(iter(note_map.notes.values())).shape[0]
    i, j = (np.asarray(run.start_latent) * cells).astype(int)
    assert all(verdicts(g, p)[i, j] == RIGHT for p, g in note_map.notes.items())


@pytest.mark.slow
def test_a_decoded_map_agrees_with_the_shipped_one():
    run = load_run(PRETRAINED_DIR / "keys")
    decode, extent = make_note_decoder(run, points=30)
    shipped = load_note_map(run.folder)
    assert extent == shipped.extent
    for pitch in (37, 90):  # C#2 and F#6
        agree = np.mean(decode(pitch) == subsample(shipped.notes[pitch], 30))
        assert agree > 0.95, (pitch, agree)


def shown_verdicts(panel) -> np.ndarray:
    """[P, P] the verdict of each cell of the pad's shading image, from its colour."""
    image = panel.pad.shade_image.image
    codes = np.full(image.shape[:2], -1)
    for code, rgba in SHADES.items():
        codes[np.all(image == rgba, axis=-1)] = code
    return codes


def open_panel(qtbot, run) -> SynthPanel:
    panel = SynthPanel(Session(run, SynthEngine(run)), low=[0, 0], high=[1, 1])
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_the_panel_shades_the_pad_for_the_held_notes(qtbot):
    run = load_run(PRETRAINED_DIR / "keys")
    panel = open_panel(qtbot, run)
    stored = load_note_map(run.folder)
    assert panel.pad.shade_image.image is None
    panel.session.set_phase("noise")  # the decoded frames as they are: the map's notes
    panel.session.note_on(90)
    panel.redraw()
    np.testing.assert_array_equal(shown_verdicts(panel), verdicts(stored.notes[90], 90))
    panel.session.note_on(37)  # a chord: each cell shows its worse note
    panel.redraw()
    np.testing.assert_array_equal(shown_verdicts(panel), shade(stored, [37, 90]))
    rect = panel.pad.shade_image.mapRectToParent(panel.pad.shade_image.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == pytest.approx((0, 0, 1, 1))
    panel.session.set_phase("harmonic")  # every point plays the keys: nothing to shade
    panel.redraw()
    assert panel.pad.shade_image.image is None and panel.shading_text.text() == HARMONIC_TEXT
    panel.session.set_phase("noise")
    panel.session.all_notes_off()
    panel.redraw()
    assert panel.pad.shade_image.image is None


@pytest.mark.slow
def test_without_a_stored_map_the_held_note_is_decoded_in_the_background(qtbot, tmp_path):
    copy = tmp_path / "keys"
    shutil.copytree(PRETRAINED_DIR / "keys", copy)
    (copy / NOTE_MAP).unlink()
    run = load_run(copy)
    panel = open_panel(qtbot, run)
    panel.session.set_phase("noise")  # the phase whose pitch the decoded frames decide
    panel.session.note_on(61)
    qtbot.waitUntil(lambda: panel.pad.shaded == (61,), timeout=60_000)  # the redraw timer's ticks
    decode, _ = make_note_decoder(run)
    np.testing.assert_array_equal(shown_verdicts(panel), verdicts(decode(61), 61))
