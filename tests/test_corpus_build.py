import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from timbre_jax.corpus.build import build_corpus
from timbre_jax.corpus.report import corpus_report, format_report
from timbre_jax.corpus.store import ARRAYS, SPLITS, load_split, previous_frame_index
from timbre_jax.errors import ParameterError


def test_corpus_format(tiny_corpus):
    meta = json.loads((tiny_corpus / "corpus.json").read_text())
    assert (meta["sample_rate"], meta["n_fft"], meta["hop_length"]) == (44100, 4096, 1024)
    assert (meta["window"], meta["chroma_method"]) == ("hann", "pitch_filterbank")
    assert meta["sources"]["preset"] == "tiny" and "package_version" in meta
    for split in SPLITS:
        arrays = {n: np.load(tiny_corpus / split / f"{n}.npy", allow_pickle=False)
                  for n in ARRAYS}  # fmt: skip
        n = meta["splits"][split]["frames"]
        assert arrays["frames"].shape == (n, 2049) and arrays["frames"].dtype == np.float32
        assert arrays["chroma"].shape == (n, 12) and arrays["clip_ids"].dtype == np.int32
        assert arrays["pitch"].dtype == np.int16
        np.testing.assert_allclose(arrays["frames"].max(axis=1), 1.0)
        assert arrays["frames"].min() >= 0
        np.testing.assert_array_equal(arrays["chroma"].sum(axis=1), 1.0)
        assert set(np.unique(arrays["pitch"])) <= {60, 64, 67}
    assert isinstance(load_split(tiny_corpus, "val").frames, np.memmap)


def test_two_builds_are_byte_identical(tiny_audio, tiny_corpus, tmp_path):
    build_corpus(tiny_audio, tmp_path / "again", progress=False)
    for split in SPLITS:
        for name in ARRAYS:
            file = f"{split}/{name}.npy"
            assert (tmp_path / "again" / file).read_bytes() == (tiny_corpus / file).read_bytes()


def test_silent_frames_are_dropped_counted_and_leave_a_gap(tiny_audio, tmp_path):
    audio = tmp_path / "audio"
    shutil.copytree(tiny_audio, audio)
    path = audio / "train" / "program000.wav"
    signal, rate = sf.read(path)
    half = len(signal) // 2
    gap = np.zeros(10 * 1024)
    sf.write(path, np.concatenate([signal[:half], gap, signal[half:]]), rate, subtype="PCM_16")
    build_corpus(audio, tmp_path / "corpus", progress=False)
    before = json.loads((tmp_path / "corpus" / "corpus.json").read_text())["splits"]["train"]
    assert before["silent_frames_dropped"] >= 6
    assert before["frames"] == corpus_report(tmp_path / "corpus")["splits"]["train"]["frames"]
    train = load_split(tmp_path / "corpus", "train")
    first = train.clip_ids == train.clip_ids[0]
    jumps = np.flatnonzero(np.diff(train.positions[first]) > 1)
    assert len(jumps) == 1  # the gap, in the middle of the clip
    previous = previous_frame_index(train.clip_ids, train.positions)
    after_gap = jumps[0] + 1
    assert previous[after_gap] == after_gap and previous[after_gap - 1] == after_gap - 2
    assert np.all(previous[1:] <= np.arange(1, len(previous)))


def test_a_corpus_of_an_older_format_is_refused(tiny_corpus, tmp_path):
    shutil.copytree(tiny_corpus, tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "corpus.json").read_text())
    (tmp_path / "old" / "corpus.json").write_text(json.dumps(meta | {"format": "x/1"}))
    with pytest.raises(ParameterError, match="rebuild it"):
        load_split(tmp_path / "old", "train")


def write_recordings(folder, n_files=10):
    """Tones of different pitch, rate, depth and channel count: a user's recordings."""
    folder.mkdir()
    formats = [(44100, 1, "PCM_16", "wav"), (48000, 2, "PCM_24", "wav"), (22050, 1, "FLOAT", "wav"),
               (32000, 2, "PCM_16", "flac")]  # fmt: skip
    for i in range(n_files):
        rate, channels, subtype, suffix = formats[i % len(formats)]
        t = np.arange(rate) / rate
        tone = 0.3 * np.sin(2 * np.pi * 220 * 2 ** (i / 12) * t)
        sf.write(folder / f"take{i:02d}.{suffix}", np.stack([tone] * channels, 1), rate,
                 subtype=subtype)  # fmt: skip


def test_user_recordings_are_split_by_file_with_a_seed(tmp_path):
    write_recordings(tmp_path / "mine")
    meta = build_corpus(tmp_path / "mine", tmp_path / "corpus", progress=False, seed=1)
    assert {s: meta["splits"][s]["clips"] for s in SPLITS} == {"train": 8, "val": 1, "test": 1}
    assert meta["sources"]["split_rule"] == "split_files(seed=1)"
    report = corpus_report(tmp_path / "corpus")
    assert report["chroma_accuracy"] is None  # no pitch labels
    train = load_split(tmp_path / "corpus", "train")
    assert np.all(train.pitch == -1) and len(np.unique(train.clip_ids)) == 8
    # every frame of a clip is a pure tone: its chroma is one class
    for clip in np.unique(train.clip_ids):
        assert len(np.unique(train.chroma[train.clip_ids == clip].argmax(1))) == 1


def test_user_manifest_sets_splits_and_pitches(tmp_path):
    write_recordings(tmp_path / "mine", n_files=3)
    clips = [{"file": f"take{i:02d}.{'wav'}", "split": s, "notes": [
        {"pitch": 57 + i, "velocity": 100, "onset": 0.0, "offset": 1.0}]}
        for i, s in enumerate(SPLITS)]  # fmt: skip
    (tmp_path / "mine" / "manifest.json").write_text(json.dumps({"clips": clips}))
    build_corpus(tmp_path / "mine", tmp_path / "corpus", progress=False)
    report = corpus_report(tmp_path / "corpus")
    assert report["chroma_accuracy"] > 0.95
    assert set(np.asarray(load_split(tmp_path / "corpus", "test").pitch)) == {59}


def test_librosa_chroma_method(tiny_audio, tmp_path):
    meta = build_corpus(tiny_audio, tmp_path / "c", chroma_method="librosa", progress=False)
    assert meta["chroma_method"] == "librosa"
    assert corpus_report(tmp_path / "c")["chroma_accuracy"] > 0.8


@pytest.mark.parametrize("bad", ["notes.wav", "nan.wav"])
def test_a_bad_file_fails_the_build_and_leaves_nothing(tmp_path, bad):
    write_recordings(tmp_path / "mine")
    if bad == "notes.wav":
        (tmp_path / "mine" / bad).write_text("not audio")
    else:
        sf.write(tmp_path / "mine" / bad, np.full(1000, np.nan), 44100, subtype="FLOAT")
    with pytest.raises(ParameterError, match=bad):
        build_corpus(tmp_path / "mine", tmp_path / "corpus", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize(
    "kwargs, match",
    [({"chroma_method": "cqt"}, "'cqt'"), ({"audio_dir": "nowhere"}, "nowhere"),
     ({"pitch": "crepe"}, "--pitch must be one of")],
)  # fmt: skip
def test_bad_arguments_are_named(tiny_audio, tmp_path, kwargs, match):
    args = {"audio_dir": tiny_audio, "out_dir": tmp_path / "c", "progress": False} | kwargs
    with pytest.raises(ParameterError, match=match):
        build_corpus(**args)


@pytest.mark.slow
def test_pyin_labels_agree_with_the_manifest(tiny_audio, tiny_corpus, tmp_path):
    meta = build_corpus(tiny_audio, tmp_path / "pyin", pitch="pyin", progress=False)
    assert meta["pitch"] == "pyin"
    report = corpus_report(tmp_path / "pyin")
    agree = report["pitch_agreement"]
    assert agree["frames_both_labelled"] > 0.8 * report["frames"]  # most frames are voiced
    assert agree["exact"] > 0.9 and agree["same_class"] >= agree["exact"]
    estimated, truth = (load_split(c, "train").pitch for c in (tmp_path / "pyin", tiny_corpus))
    assert not np.array_equal(estimated, truth)  # estimated, not copied from the manifest
    assert "pyin against the manifest" in format_report(report)
    assert corpus_report(tiny_corpus).get("pitch_agreement") is None  # labels from the manifest


def test_existing_output_is_refused_unless_overwrite(tiny_audio, tiny_corpus):
    with pytest.raises(ParameterError, match="--overwrite"):
        build_corpus(tiny_audio, tiny_corpus, progress=False)


def test_empty_folder_and_malformed_manifest_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="found 0 audio"):
        build_corpus(tmp_path / "empty", tmp_path / "c", progress=False)
    (tmp_path / "empty" / "manifest.json").write_text("{not json")
    with pytest.raises(ParameterError, match="manifest"):
        build_corpus(tmp_path / "empty", tmp_path / "c", progress=False)
