"""`python -m timbre_jax.synth --workdir runs/NAME` (or `--model one_octave`, a pretrained
model from results/pretrained): open the synth panel on a trained model.

Plays through the default audio output (or `--device`), listens to the first MIDI input
(or `--midi NAME`; `--midi-api UNIX_JACK` for JACK MIDI), and records takes into
`--record-dir`. Without an audio device the panel still opens and records offline.
"""

from __future__ import annotations

import os
import sys

from timbre_jax.analysis.embedding import latent_span, training_embedding
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.errors import ParameterError
from timbre_jax.synth import midi
from timbre_jax.synth.audio_out import AudioOutput, default_output_available
from timbre_jax.synth.engine import SynthEngine
from timbre_jax.training.run import load_run, pretrained_names, run_folder


@command
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m timbre_jax.synth", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help=f"a pretrained model: one of {pretrained_names()}")
    parser.add_argument("--phase", default="noise", help="noise or rtpghi")
    parser.add_argument("--device", help="sounddevice output device name or index")
    parser.add_argument("--midi", help="MIDI input port (default: the first one)")
    parser.add_argument("--midi-api", help="rtmidi API, e.g. UNIX_JACK (default: ALSA)")
    parser.add_argument("--record-dir", default="takes", help="where Record writes takes")
    parser.add_argument("--play", action="store_true", help="start the sound on opening")
    parser.add_argument("--quit-after", type=float, help="close the panel after this many seconds")
    args = parser.parse_args(argv)
    run = load_run(run_folder(workdir=args.workdir, model=args.model))
    names = midi.input_names(args.midi_api)
    if args.midi and args.midi not in names:
        raise ParameterError(f"MIDI input {args.midi!r} not found; inputs: {names}")
    engine = SynthEngine(run, phase=args.phase)
    low, high = latent_span(run)
    embedding = training_embedding(run)
    output = AudioOutput(engine, device=args.device) if default_output_available() else None
    import pyqtgraph as pg  # Qt is loaded only once the model and devices are known good
    from pyqtgraph.Qt import QtCore

    from timbre_jax.synth.panel import SynthPanel

    app = pg.mkQApp("timbre_jax")
    panel = SynthPanel(engine, run=run, low=low, high=high, embedding=embedding, output=output,
                       record_dir=args.record_dir)  # fmt: skip
    port = None
    if names:
        controller = midi.MidiController(engine, low, high)
        port = midi.open_input(controller, args.midi or names[0], args.midi_api)
        engine.set_gate(False)  # silent until a key is pressed
        panel.status.setText(f"MIDI input: {port.name}")
    panel.show()
    if args.play and output is not None:
        panel.play.setChecked(True)
    if args.quit_after:
        QtCore.QTimer.singleShot(round(1000 * args.quit_after), app.quit)
    app.exec()
    if port is not None:
        port.close()
    if output is not None:
        if panel.play.isChecked():
            panel.play.setChecked(False)
        print(f"played {output.ring.read / engine.sample_rate:.1f} s, {output.underruns} underruns")
        output.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown, where Qt objects deleted out of order can abort
