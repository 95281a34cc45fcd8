"""A held note swept across the pad, to hear how pitch and timbre change (results/audio/).

    python launch/pad_sweep.py --workdir runs/pitch_e10/violin_both --note A4 --out a.wav

Writes the automation CSV of the sweep beside the WAV and renders it with
`python -m timbre_jax.render --automation`: the note held while the latent point moves in a
square path through the pad's corners, (0.05, 0.05) -> (0.95, 0.05) -> (0.95, 0.95) ->
(0.05, 0.95) -> (0.05, 0.05), one new point every 0.25 s, `--seconds` in all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from timbre_jax.cli import ArgumentParser, command
from timbre_jax.render import main as render_main
from timbre_jax.synth.automation import parse_note, write_automation
from timbre_jax.synth.engine import Controls

CORNERS = np.array([(0.05, 0.05), (0.95, 0.05), (0.95, 0.95), (0.05, 0.95), (0.05, 0.05)])
STEP_SECONDS = 0.25


def square_path(seconds: float) -> np.ndarray:
    """[k, 2] points every STEP_SECONDS along the square through the corners."""
    t = np.linspace(0, len(CORNERS) - 1, round(seconds / STEP_SECONDS) + 1)
    return np.stack([np.interp(t, np.arange(len(CORNERS)), CORNERS[:, i]) for i in (0, 1)], 1)


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help="a shipped model")
    parser.add_argument("--note", default="A4", help="the key held")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--phase", help="phase method (default: the model's)")
    parser.add_argument("--out", required=True, help="WAV file; the CSV is written beside it")
    args = parser.parse_args(argv)
    pitch, out = parse_note(args.note), Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    automation = out.with_suffix(".csv")
    rows = [(k * STEP_SECONDS, Controls((round(z0, 4), round(z1, 4)), 0.8, ((pitch, 100),)))
            for k, (z0, z1) in enumerate(square_path(args.seconds))]  # fmt: skip
    write_automation(automation, rows, 2)
    source = ["--workdir", args.workdir] if args.workdir else ["--model", args.model]
    phase = ["--phase", args.phase] if args.phase else []
    render_main([*source, *phase, "--automation", str(automation), "--out", str(out),
                 "--overwrite"])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
