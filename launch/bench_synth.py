"""Synth benchmark: per-hop compute time, phase quality, and control-to-sound latency.

For a trained run (default: runs/default), prints for each phase method:
  - the median and 99th percentile of the engine's compute time per hop (decode + phase +
    inverse FFT + overlap-add), over `--hops` hops of a slow latent sweep; the hop lasts
    23.2 ms at 44.1 kHz;
  - the spectral convergence || |STFT(y)| - M ||_F / ||M||_F between the decoded magnitudes
    M and the STFT of the synthesised signal y (lower is better; 0 = consistent phase);
and, through a JACK server on its dummy driver (started here, 256-frame periods), the
latency from a control change to the first output sample that reflects it: the samples
queued ahead of the change plus PortAudio's reported output latency (median and max of
`--changes` changes at random times).

Usage: python launch/bench_synth.py [--workdir runs/default] [--hops 2000] [--changes 40]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

import numpy as np

from timbre_jax.dsp.spectral import hann_window, stft
from timbre_jax.synth.audio_out import AudioOutput
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.training.run import load_run


def sweep(engine: SynthEngine, hops: int) -> tuple[np.ndarray, np.ndarray]:
    """Plays a slow circle in the latent space; returns audio and decoded magnitudes."""
    audio, mags = [], []
    for k in range(hops):
        angle = 2 * np.pi * k / 400
        latent = 0.5 + 0.3 * np.array([np.cos(angle), np.sin(angle)])
        engine.set_latent(list(latent) + [0.5] * (engine.latent_dim - 2))
        audio.append(engine.next_hop())
        mags.append(engine.last_magnitude)
    return np.concatenate(audio), np.array(mags)


def spectral_convergence(engine: SynthEngine, audio: np.ndarray, mags: np.ndarray) -> float:
    """Frame k of the output is centred at k * hop + n_fft / 2, i.e. STFT frame k + 2."""
    spectrum = np.abs(np.asarray(stft(audio, window=hann_window(engine.n_fft))))
    spectrum /= engine.controls.gain
    offset = engine.n_fft // (2 * engine.hop_length)
    target = mags[8:-8]
    got = spectrum[8 + offset : 8 + offset + len(target)]
    return float(np.linalg.norm(got - target) / np.linalg.norm(target))


def latency(engine: SynthEngine, changes: int) -> tuple[float, float]:
    """Median and max seconds from a gain change to the first sample that reflects it."""
    jackd = shutil.which("jackd")
    server = subprocess.Popen([jackd, "--no-realtime", "-d", "dummy", "-r", "44100", "-p", "256"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    import sounddevice as sd

    try:
        time.sleep(1.5)
        sd._terminate()
        sd._initialize()
        output = AudioOutput(engine, device=0)
        output.producer.recorder = []
        output.start()
        rng = np.random.default_rng(0)
        results = []
        for i in range(changes):
            time.sleep(rng.uniform(0.1, 0.3))
            consumed = output.ring.read
            produced = len(output.producer.recorder)
            engine.set_gain(0.5 if i % 2 else 0.8)
            wanted = engine.controls.gain
            time.sleep(0.2)
            hops = output.producer.recorder
            first = next(k for k in range(produced, len(hops)) if hops[k][0].gain == wanted)
            first_sample = first * engine.hop_length + output.prefilled
            results.append((first_sample - consumed) / engine.sample_rate + output.stream.latency)
        underruns = output.underruns
        output.stop()
    finally:
        sd._terminate()
        server.terminate()
    print(f"  (latency run: {underruns} underruns, PortAudio output latency "
          f"{1e3 * output.stream.latency:.1f} ms)")  # fmt: skip
    return float(np.median(results)), float(np.max(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/default")
    parser.add_argument("--hops", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=40)
    args = parser.parse_args()
    run = load_run(args.workdir)
    print(f"model {args.workdir}; hop = 1024 samples = 23.2 ms")
    for method in ("noise", "rtpghi"):
        engine = SynthEngine(run, phase=method)
        engine.set_gain(1.0)
        engine.reset()
        audio, mags = sweep(engine, args.hops)
        t = engine.timing()
        sc = spectral_convergence(engine, audio, mags)
        print(f"{method:7s} per-hop compute: median {t['median_ms']:.2f} ms, "
              f"p99 {t['p99_ms']:.2f} ms; spectral convergence {sc:.3f}")  # fmt: skip
    median, worst = latency(SynthEngine(run), args.changes)
    print(f"control-to-sound latency: median {1e3 * median:.1f} ms, max {1e3 * worst:.1f} ms")


if __name__ == "__main__":
    main()
