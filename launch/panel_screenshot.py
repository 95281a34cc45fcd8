"""Saves a PNG of the synth panel while a chord plays (offscreen Qt, no audio device needed).

The chord is played on the engine as a MIDI keyboard would play it, rendered for half a
second, and the panel redraws before the grab. With `--spread`, each note gets its own latent
point, as an MPE controller's notes do, spaced around a circle over the middle of the pad.

Usage: python launch/panel_screenshot.py [--model one_octave | --workdir RUN]
       [--chord C4,E4,G4,B4] [--spread] [--out results/panel_chord.png]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from timbre_jax.analysis.embedding import latent_span, training_embedding  # noqa: E402
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.errors import ParameterError
from timbre_jax.model.run import load_run, run_folder  # noqa: E402
from timbre_jax.synth.automation import parse_chord  # noqa: E402
from timbre_jax.synth.engine import SynthEngine  # noqa: E402
from timbre_jax.synth.session import Session  # noqa: E402


@command
def main(argv: list[str] | None = None) -> int | None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help="a shipped model (default one_octave)")
    parser.add_argument("--chord", default="C4,E4,G4,B4", help="comma-separated notes")
    parser.add_argument("--spread", action="store_true", help="each note its own latent point")
    parser.add_argument("--out", default="results/panel_chord.png")
    args = parser.parse_args(argv)
    run = load_run(run_folder(workdir=args.workdir, model=args.model or
                              (None if args.workdir else "one_octave")))  # fmt: skip
    engine = SynthEngine(run)
    low, high = latent_span(run)
    import pyqtgraph as pg

    from timbre_jax.synth.panel import REDRAW_MS, SynthPanel

    app = pg.mkQApp("panel_screenshot")
    session = Session(run, engine)
    panel = SynthPanel(session, low=low, high=high, embedding=training_embedding(run))
    panel.resize(1100, 650)
    panel.show()
    chord = parse_chord(args.chord)
    for k, pitch in enumerate(chord):
        session.note_on(pitch)
        if args.spread:  # around a circle over the middle of the pad, in the first two axes
            angle = 2 * np.pi * k / len(chord)
            for axis, where in enumerate((np.cos(angle), np.sin(angle))):
                centre, span = (low[axis] + high[axis]) / 2, high[axis] - low[axis]
                session.set_note_axis(pitch, axis, centre + 0.3 * span * where)
    session.render(0.5)
    deadline = time.perf_counter() + 3 * REDRAW_MS / 1000
    while time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if not panel.grab().save(args.out):  # Qt says nothing when it cannot write
        raise ParameterError(f"cannot write the screenshot to {args.out!r}")
    print(f"wrote {args.out}: {panel.voices.text()}")


if __name__ == "__main__":
    sys.exit(main())
