"""Synth benchmark: per-hop compute time, phase quality, and control-to-sound latency.

For a trained run (default: runs/default), prints for each phase method:
  - the median and 99th percentile of the engine's compute time per hop (decode + phase +
    inverse FFT + overlap-add), over `--hops` hops of a slow latent sweep, with 1, 4 and 8
    voices sounding (a chord of keys the model was trained on, from C3: `chord`); the hop
    lasts 23.2 ms at 44.1 kHz;
  - the spectral convergence || |STFT(y)| - M ||_F / ||M||_F between the decoded magnitudes
    M and the STFT of the synthesised signal y (lower is better; 0 = consistent phase);
and, through a JACK server on its dummy driver (started here at `--rate`, 48 kHz by default,
256-frame periods), the latency from a control change to the first output sample that
reflects it: the samples queued ahead of the change (ring buffer and resampler) plus
PortAudio's reported output latency (median and max of `--changes` changes at random times).

The spectral convergence is measured on the one-voice sweep.

Usage: python launch/bench_synth.py [--workdir runs/default] [--hops 2000] [--changes 40]
                                    [--rate 48000|44100]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.dsp.spectral import hann_window, stft
from timbre_jax.model.run import load_run
from timbre_jax.synth.audio_out import run_jax_inline
from timbre_jax.synth.automation import read_automation
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.synth.session import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: JACK
from tests.support.jack import jack_dummy  # noqa: E402

VOICES = (1, 4, 8)


def chord(run, voices: int) -> list[int]:
    """`voices` of the keys the model was trained on from C3 up, every fifth of them (five
    semitones apart on a model trained on every key)."""
    return [p for p in range(48, 128) if run.plays(p)][::5][:voices]


def sweep(session: Session, hops: int) -> tuple[np.ndarray, np.ndarray]:
    """Plays a slow circle in the latent space; returns audio and decoded magnitudes."""
    audio, mags = [], []
    for k in range(hops):
        angle = 2 * np.pi * k / 400
        latent = 0.5 + 0.3 * np.array([np.cos(angle), np.sin(angle)])
        session.set_latent(list(latent) + [0.5] * (session.latent_dim - 2))
        audio.append(session.next_hop())
        mags.append(session.heard.magnitude)
    return np.concatenate(audio), np.array(mags)


def spectral_convergence(session: Session, audio: np.ndarray, mags: np.ndarray) -> float:
    """Frame k of the output is centred at k * hop + n_fft / 2, i.e. STFT frame k + 2."""
    engine = session.engine
    spectrum = np.abs(np.asarray(stft(audio, window=hann_window(engine.n_fft))))
    spectrum /= session.applied.gain
    offset = engine.n_fft // (2 * engine.hop_length)
    target = mags[8:-8]
    got = spectrum[8 + offset : 8 + offset + len(target)]
    return float(np.linalg.norm(got - target) / np.linalg.norm(target))


def latency(run, changes: int, rate: int, takes: Path) -> tuple[float, float]:
    """Median and max seconds from a gain change to the first sample that reflects it, through
    a JACK dummy server at `rate` Hz: one note (C4) played by a session whose take, recorded
    from the stream's first hop, stamps the hop that applied each change."""
    session = Session(run, SynthEngine(run), record_dir=takes)
    with jack_dummy(rate) as device:
        output = session.open_output(device=device)
        session.start_recording(streamed=True)  # silent: the take starts at the first hop
        session.note_on(60)
        session.start()
        rng = np.random.default_rng(0)
        asked = []  # (stream seconds played when the change was made, the gain asked)
        for i in range(changes):
            time.sleep(rng.uniform(0.1, 0.3))
            # from the start's 0.8: every change is one (a row in the take)
            asked.append((output.ring.read / output.sample_rate, 0.8 if i % 2 else 0.5))
            session.set_gain(asked[-1][1])
        time.sleep(0.2)
        _, csv = session.stop_recording().result()
        underruns = output.underruns
        session.close()
    rows, _ = read_automation(csv, run.latent_dim)
    results = []
    for played, gain in asked:
        # the resampler keeps time: engine second t (a take's row) is stream second t
        starts = next(t for t, c in rows if t >= played and c.gain == gain)
        results.append(starts - played + output.stream.latency)
    print(f"  (latency run at {rate} Hz, {output.channels} channels: {underruns} underruns, "
          f"lead {1e3 * output.producer.lead_seconds:.1f} ms at the end (it grows after an "
          f"underrun), PortAudio output latency {1e3 * output.stream.latency:.1f} ms)")  # fmt: skip
    return float(np.median(results)), float(np.max(results))


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/default")
    parser.add_argument("--hops", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--rate", type=int, default=48000, help="the JACK server's rate, Hz")
    args = parser.parse_args(argv)
    run_jax_inline()  # as the synth's process runs JAX (before its first computation)
    run = load_run(args.workdir)
    print(f"model {args.workdir}; hop = 1024 samples = 23.2 ms")
    for method in ("noise", "rtpghi"):
        for voices in VOICES:
            session = Session(run, SynthEngine(run, phase=method, voices=voices))
            session.set_gain(1.0 / voices)
            for pitch in chord(run, voices):
                session.note_on(pitch)
            session.next_hop()
            session.engine.reset()  # at full level from here; restarts the timing statistics
            audio, mags = sweep(session, args.hops)
            t = session.engine.timing()
            quality = (f"; spectral convergence {spectral_convergence(session, audio, mags):.3f}"
                       if voices == 1 else "")  # fmt: skip
            print(f"{method:7s} {voices} voice(s) per-hop compute: median {t['median_ms']:.2f} "
                  f"ms, p99 {t['p99_ms']:.2f} ms{quality}")  # fmt: skip
    with tempfile.TemporaryDirectory() as takes:
        median, worst = latency(run, args.changes, args.rate, Path(takes))
    print(f"control-to-sound latency at {args.rate} Hz (JACK, 256-frame periods): "
          f"median {1e3 * median:.1f} ms, max {1e3 * worst:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
