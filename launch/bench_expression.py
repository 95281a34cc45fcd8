"""Expression benchmark: pitch bend, vibrato and what a bent note model decodes, by pYIN on
audio rendered offline with the synth's default (harmonic) phase.

For each shipped note model (`--models`, default violin and keys) it prints:
  - bend: A4 held 0.5 s, bent to B4 over `--ramp` seconds (a pitch wheel sending a value a
    hop), held 0.5 s. pYIN's pitch every 10 ms against the pitch commanded, as the engine
    is meant to sound it: the wheel's value glided as the latent point is (30 ms) and heard
    n_fft / 2 samples later (the centre of the frame that carries it). Median and largest
    error in cents over the ramp and the holds;
  - vibrato: A4 with `--depth` cents at the engine's 5.5 Hz for 3 s; pYIN's rate (the peak
    of the pitch track's spectrum) and depth (the amplitude of the sinusoid fitted at it);
  - between notes: a bend of two semitones over 2 s decoded each way the engine can
    (`BETWEEN_NOTES`: one frame conditioned on the neighbouring notes' vectors blended,
    the two neighbours' frames blended, or the nearest note): the median and largest
    change of the decoded timbre from one hop to the next (MFCC distance,
    `decoded_jumps`), at the default residual and at -12 dB. A nearest-note decode jumps
    where the bend crosses half a semitone;
  - legato: A4 held, B4 pressed with `--glide` seconds of glide, one voice moving; the level
    (RMS over 10 ms) at its lowest against its median from 0.05 s before the move to 0.4 s
    after, and the same for a pitch wheel moving A4 to B4 in as long;
  - cost: per-hop compute of eight voices on one moving latent point, and of eight voices
    each with its own moving latent point and bend (MPE), alternated `--repeats` times in
    the same run: the median of each arm's medians and of its p99s over `--hops` hops (at
    most 2048, the engine's timing window; a 600-hop p99 is its 6th worst hop, so it measures
    the machine's jitter as much as the engine).

Usage: python launch/bench_expression.py [--models violin keys] [--ramp 0.5] [--depth 50]
                                         [--glide 0.15] [--repeats 5] [--hops 600]
"""

from __future__ import annotations

import librosa
import numpy as np

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.model.run import load_run, run_folder
from timbre_jax.synth.audio_out import run_jax_inline
from timbre_jax.synth.engine import BETWEEN_NOTES, SMOOTHING_SECONDS, VIBRATO_HZ, SynthEngine
from timbre_jax.synth.harmonic_phase import RESIDUAL_DB

A4 = 69
PYIN_STEP = 441  # samples: a pitch every 10 ms


def pitch_track(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(seconds [k], cents from A4 [k], NaN where unvoiced) of pYIN every 10 ms."""
    f0, voiced, _ = librosa.pyin(audio, fmin=300, fmax=700, sr=sample_rate, frame_length=2048,
                                 hop_length=PYIN_STEP)  # fmt: skip
    cents = np.where(voiced, 1200 * np.log2(f0 / 440.0), np.nan)
    return np.arange(len(f0)) * PYIN_STEP / sample_rate, cents


def play_bends(engine: SynthEngine, bends: list[float]) -> np.ndarray:
    """A4 from a reset engine, `bends[k]` semitones set before hop k."""
    engine.note_on(A4)
    engine.reset()
    hops = []
    for bend in bends:
        engine.set_bend(bend)
        hops.append(engine.next_hop())
    return np.concatenate(hops)


def heard_bend(engine: SynthEngine, bends: list[float], seconds: np.ndarray) -> np.ndarray:
    """The bend (semitones) the engine is meant to sound at `seconds`: the commanded one
    glided one pole per hop, heard n_fft / 2 samples after its hop starts."""
    alpha = 1.0 - np.exp(-engine.hop_length / (engine.sample_rate * SMOOTHING_SECONDS))
    glided, value = [], 0.0
    for bend in bends:
        value += alpha * (bend - value)
        glided.append(value)
    starts = (np.arange(len(bends)) * engine.hop_length + engine.n_fft // 2) / engine.sample_rate
    return np.interp(seconds, starts, glided)


def bend_errors(run, ramp_seconds: float) -> tuple[float, float]:
    """Median and largest |pYIN - commanded| in cents for A4 -> B4 over `ramp_seconds`."""
    engine = SynthEngine(run)
    hop = engine.hop_length / engine.sample_rate
    hold, ramp = round(0.5 / hop), round(ramp_seconds / hop)
    bends = [0.0] * hold + [2.0 * (k + 1) / ramp for k in range(ramp)] + [2.0] * hold
    seconds, cents = pitch_track(play_bends(engine, bends), engine.sample_rate)
    expected = 100 * heard_bend(engine, bends, seconds)
    inside = (seconds > 0.2) & (seconds < len(bends) * hop) & np.isfinite(cents)
    errors = np.abs(cents[inside] - expected[inside])
    return float(np.median(errors)), float(errors.max())


def vibrato(run, depth_cents: float) -> tuple[float, float]:
    """pYIN's (rate Hz, depth cents) of A4 played with `depth_cents` of vibrato."""
    engine = SynthEngine(run)
    engine.set_vibrato(depth_cents)
    engine.set_vibrato_rate(VIBRATO_HZ)
    audio = play_bends(engine, [0.0] * round(3.0 * engine.sample_rate / engine.hop_length))
    seconds, cents = pitch_track(audio, engine.sample_rate)
    keep = (seconds > 0.3) & (seconds < 2.7) & np.isfinite(cents)
    t, c = seconds[keep], cents[keep] - np.median(cents[keep])
    spectrum = np.abs(np.fft.rfft(c * np.hanning(len(c)), 1 << 14))
    rate = float(np.fft.rfftfreq(1 << 14, PYIN_STEP / engine.sample_rate)[np.argmax(spectrum)])
    basis = np.stack([np.sin(2 * np.pi * rate * t), np.cos(2 * np.pi * rate * t), np.ones_like(t)])
    fit = np.linalg.lstsq(basis.T, c, rcond=None)[0]
    return rate, float(np.hypot(fit[0], fit[1]))


def decoded_jumps(run, between_notes: str, residual: float) -> tuple[float, float]:
    """Median and largest hop-to-hop change of the decoded timbre (the Euclidean distance of
    MFCCs 1-19 of the shaped frame, whose mel bands do not see a harmonic move by a bin)
    over a bend of two semitones in 2 s, with the residual at `residual` dB."""
    engine = SynthEngine(run, between_notes=between_notes)
    engine.set_residual(residual)
    steps = round(2.0 * engine.sample_rate / engine.hop_length)
    engine.note_on(A4)
    engine.reset()
    frames = []
    for k in range(steps):
        engine.set_bend(2.0 * k / steps)
        engine.next_hop()
        frames.append(engine.last_magnitude)
    mel = librosa.feature.melspectrogram(S=np.square(np.array(frames[8:]).T),
                                         sr=engine.sample_rate, n_fft=engine.n_fft)  # fmt: skip
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)[1:]
    jumps = np.linalg.norm(np.diff(mfcc, axis=1), axis=0)
    return float(np.median(jumps)), float(jumps.max())


def level_dip(audio: np.ndarray, start: int, sample_rate: int) -> float:
    """The lowest 10 ms RMS from 0.05 s before sample `start` to 0.4 s after, over its
    median there."""
    window = round(0.01 * sample_rate)
    level = np.sqrt(np.convolve(audio**2, np.ones(window) / window, "same"))
    span = level[start - round(0.05 * sample_rate) : start + round(0.4 * sample_rate)]
    return float(span.min() / np.median(span))


def legato_dips(run, glide: float) -> tuple[float, float]:
    """`level_dip` of A4 moved to B4 by legato with `glide` seconds, and of a pitch wheel
    bending A4 to B4 in as long."""
    legato = SynthEngine(run)
    legato.set_legato(True)
    legato.set_glide(glide)
    legato.note_on(A4)
    legato.reset()
    held = legato.render(0.5)
    legato.note_on(A4 + 2)
    moved = np.concatenate([held, legato.render(0.5)])
    wheel = SynthEngine(run)
    steps = max(1, round(glide * wheel.sample_rate / wheel.hop_length))
    hold = round(0.5 * wheel.sample_rate / wheel.hop_length)
    bent = play_bends(wheel, [0.0] * hold + [2.0 * min(1.0, (k + 1) / steps)
                                             for k in range(hold)])  # fmt: skip
    rate = legato.sample_rate
    return level_dip(moved, len(held), rate), level_dip(bent, hold * wheel.hop_length, rate)


def hop_cost(run, own: bool, hops: int = 600) -> dict:
    """Per-hop compute (median, p99 ms) of eight voices on keys the model knows, moving
    together on one latent circle, or (`own`) each on its own circle, with its own bend."""
    engine = SynthEngine(run)
    pitches = [p for p in range(55, 100) if run.plays(p)][::3][:8]
    for pitch in pitches:
        engine.note_on(pitch)
    engine.reset()
    for k in range(hops):
        for v, pitch in enumerate(pitches):
            angle = 2 * np.pi * (k / 200 + (v / 8 if own else 0))
            point = (0.5 + 0.3 * np.cos(angle), 0.5 + 0.3 * np.sin(angle))
            if own:
                engine.set_expression(pitch, 0.3 * np.sin(angle), point)
            else:
                engine.set_latent(point)
        engine.next_hop()
    return engine.timing()


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["violin", "keys"])
    parser.add_argument("--ramp", type=float, default=0.5, help="seconds of the A4-B4 bend")
    parser.add_argument("--depth", type=float, default=50.0, help="vibrato depth, cents")
    parser.add_argument("--glide", type=float, default=0.15, help="seconds of the legato move")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each cost arm")
    parser.add_argument("--hops", type=int, default=600, help="hops in each run of a cost arm")
    args = parser.parse_args(argv)
    run_jax_inline()  # as the synth's process runs JAX (before its first computation)
    print(
        "| model | bend A4-B4: median / max error (cents) | vibrato rate (Hz), depth (cents) "
        f"| timbre change per hop (MFCC) at a residual of {RESIDUAL_DB:g} and -12 dB, blend: "
        "median / max | frames | nearest |"
    )
    print("|---|---|---|---|---|---|")
    for name in args.models:
        run = load_run(run_folder(model=name))
        median, worst = bend_errors(run, args.ramp)
        rate, depth = vibrato(run, args.depth)
        jumps = " | ".join(" and ".join("{:.1f} / {:.1f}".format(*decoded_jumps(run, how, db))
                                        for db in (RESIDUAL_DB, -12.0))
                           for how in BETWEEN_NOTES)  # fmt: skip
        print(
            f"| {name} | {median:.1f} / {worst:.1f} | {rate:.2f} (set {VIBRATO_HZ}), "
            f"{depth:.1f} (set {args.depth:g}) | {jumps} |"
        )
    print(f"\n| model | legato A4 to B4 in {args.glide:g} s: lowest level / median | the pitch "
          "wheel's |\n|---|---|---|")  # fmt: skip
    for name in args.models:
        legato, wheel = legato_dips(load_run(run_folder(model=name)), args.glide)
        print(f"| {name} | {legato:.2f} | {wheel:.2f} |")
    print(
        "\n| model | 8 voices, one latent: hop median / p99 (ms) | each its own latent and bend "
        "| p99 ratio |\n|---|---|---|---|"
    )
    for name in args.models:
        run = load_run(run_folder(model=name))
        arms = [
            [hop_cost(run, own=own, hops=args.hops) for own in (False, True)]
            for _ in range(args.repeats)
        ]
        shared, own = ({key: float(np.median([arm[k][key] for arm in arms]))
                        for key in ("median_ms", "p99_ms")} for k in (0, 1))  # fmt: skip
        print(f"| {name} | {shared['median_ms']:.2f} / {shared['p99_ms']:.2f} | "
              f"{own['median_ms']:.2f} / {own['p99_ms']:.2f} | "
              f"{own['p99_ms'] / shared['p99_ms']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
