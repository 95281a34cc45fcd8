"""Corpus-building throughput: timbre_jax's analyser against librosa on the same audio.

Renders the one-octave preset (80 clips, 416 s of audio) unless `--audio DIR` is given, then
times, after a warm-up, on every clip in memory:
  ours:     FrameAnalyser (STFT + |.| + per-frame max-normalisation + chroma one-hot)
  librosa:  librosa.stft + librosa.feature.chroma_stft(S=|X|^2), with its default tuning
            estimate and with tuning=0 (the fixed filterbank, as timbre_jax computes it)
and prints seconds of audio analysed per second of wall time for each, and the ratios.

Usage: python launch/bench_corpus.py [--audio DIR] [--repeats 3]
"""

from __future__ import annotations

import sys
import tempfile
import time

import librosa
import numpy as np

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.corpus.analysis import FrameAnalyser
from timbre_jax.corpus.render import render_preset
from timbre_jax.dsp.audio_io import list_audio_files, read_audio
from timbre_jax.dsp.spectral import HOP_LENGTH, N_FFT, SAMPLE_RATE


def best_time(fn, signals, repeats: int) -> float:
    """Fastest of `repeats` passes over all signals, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for signal in signals:
            fn(signal)
        times.append(time.perf_counter() - start)
    return min(times)


def librosa_pipeline(tuning):
    def run(signal):
        spectrum = librosa.stft(signal, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann")
        power = np.abs(spectrum) ** 2
        chroma = librosa.feature.chroma_stft(S=power, sr=SAMPLE_RATE, n_fft=N_FFT, tuning=tuning)
        return chroma.argmax(axis=0)

    return run


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", help="folder of audio (default: render one_octave)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.audio
        if folder is None:
            folder = f"{tmp}/audio"
            render_preset("one_octave", folder, progress=False)
        signals = [read_audio(f, sample_rate=SAMPLE_RATE) for f in list_audio_files(folder)]
    seconds = sum(len(s) for s in signals) / SAMPLE_RATE
    analyser = FrameAnalyser()
    candidates = {
        "timbre_jax": analyser,
        "librosa (tuning estimated)": librosa_pipeline(None),
        "librosa (tuning=0)": librosa_pipeline(0.0),
    }
    for fn in candidates.values():  # warm-up: jit compilation, numba, FFT plans
        fn(signals[0])
    rates = {name: seconds / best_time(f, signals, args.repeats) for name, f in candidates.items()}
    print(f"{len(signals)} clips, {seconds:.1f} s of audio, best of {args.repeats}")
    for name, rate in rates.items():
        print(f"  {name:28s} {rate:9.1f} s of audio per second")
    for name in list(rates)[1:]:
        print(f"  ratio timbre_jax / {name}: {rates['timbre_jax'] / rates[name]:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
