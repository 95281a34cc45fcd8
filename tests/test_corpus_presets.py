import numpy as np
import pytest

from timbre_jax.corpus import presets
from timbre_jax.corpus.build import split_files
from timbre_jax.corpus.pitch_labels import frame_pitches
from timbre_jax.errors import ParameterError


def programs_by_split(name):
    split = {}
    for clip in presets.preset_clips(name):
        split.setdefault(clip.split, set()).add(clip.program)
    return split


@pytest.mark.parametrize("name", ["one_octave", "five_octave"])
def test_scale_presets_split_80_programs_70_5_5(name):
    split = programs_by_split(name)
    assert {k: len(v) for k, v in split.items()} == {"train": 70, "val": 5, "test": 5}
    assert split["train"] | split["val"] | split["test"] == set(presets.PROGRAMS)
    assert not (split["train"] & split["val"] or split["train"] & split["test"])


def test_program_list_excludes_unpitched_programs():
    assert len(set(presets.PROGRAMS)) == 80
    assert not set(presets.PROGRAMS) & ({47, 55} | set(range(112, 128)))


def test_one_octave_is_c_major_from_middle_c():
    clip = presets.preset_clips("one_octave")[0]
    assert [n.pitch for n in clip.notes] == [60, 62, 64, 65, 67, 69, 71, 72]


def test_violin_trains_on_single_notes_and_holds_out_whole_passages():
    clips = presets.preset_clips("violin")
    assert {c.program for c in clips} == {presets.VIOLIN}
    train = [c for c in clips if c.split == "train"]
    assert all(len({n.pitch for n in c.notes}) == 1 for c in train)
    val = {c.name for c in clips if c.split == "val"}
    test = {c.name for c in clips if c.split == "test"}
    assert val and test and not val & test
    for kind in ("scale", "arpeggio", "ode"):  # every kind of passage is in both sets
        assert any(kind in n for n in val) and any(kind in n for n in test)


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_notes_fit_inside_their_clip(name):
    for clip in presets.preset_clips(name):
        for note in clip.notes:
            assert 0 <= note.onset < note.offset <= clip.seconds
            assert 0 <= note.pitch <= 127 and 1 <= note.velocity <= 127


def test_unknown_preset_is_named():
    with pytest.raises(ParameterError, match="'drums'"):
        presets.preset_clips("drums")


def test_split_files_is_seeded_and_holds_out_ten_percent():
    splits = split_files(20, seed=3)
    assert splits == split_files(20, seed=3)
    assert (splits.count("val"), splits.count("test")) == (2, 2)
    assert split_files(3, seed=0).count("train") == 1
    with pytest.raises(ParameterError, match="at least 3"):
        split_files(2, seed=0)


def test_frame_pitches_follow_onsets_and_release():
    notes = [
        {"pitch": 60, "onset": 0.0, "offset": 0.5},
        {"pitch": 62, "onset": 0.5, "offset": 1.0},
    ]
    pitch = frame_pitches(notes, 100, sample_rate=1000, hop_length=25)  # 25 ms frames
    times = np.arange(100) * 0.025
    np.testing.assert_array_equal(pitch[times < 0.5], 60)
    np.testing.assert_array_equal(pitch[(times >= 0.5) & (times < 2.0)], 62)
    np.testing.assert_array_equal(pitch[times >= 2.0], -1)
