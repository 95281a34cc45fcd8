"""`python -m timbre_jax.synth --workdir runs/NAME` (or `--model one_octave`, a pretrained
model from results/pretrained): open the synth panel on a trained model.

Plays `--voices` notes at once (default 8) through the default audio output (or `--device`),
listens to the first MIDI input that is not a "Through" port (or `--midi-port INDEX|NAME`;
`--list-midi` lists them; `--midi-api UNIX_JACK` for JACK MIDI), and records takes into
`--record-dir`. Without an audio device the panel still opens and records offline.
`--list-devices` lists the audio outputs; the sound plays at the output's default rate on
all its channels (or `--rate HZ`, `--channels N`), the same signal on each.
"""

from __future__ import annotations

import os
import sys

from timbre_jax.analysis.embedding import latent_span, training_embedding
from timbre_jax.cli import ArgumentParser, command
from timbre_jax.synth import devices, midi
from timbre_jax.synth.audio_out import AudioOutput, default_output_available
from timbre_jax.synth.engine import VOICES, SynthEngine
from timbre_jax.training.run import load_run, pretrained_names, run_folder


@command
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m timbre_jax.synth", description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help=f"a pretrained model: one of {pretrained_names()}")
    parser.add_argument("--phase", help="noise, rtpghi or harmonic (note models; "
                        "their default, else noise)")  # fmt: skip
    parser.add_argument("--device", help="audio output index or (part of its) name")
    parser.add_argument("--list-devices", action="store_true", help="list audio outputs and exit")
    parser.add_argument("--rate", type=int, help="output sample rate, Hz (default: the device's)")
    parser.add_argument("--channels", type=int, help="output channels (default: all the device's)")
    parser.add_argument("--voices", type=int, default=VOICES, help="notes sounding at once")
    parser.add_argument("--midi-port", help="MIDI input index or name (default: the first one "
                        "that is not a Through port)")  # fmt: skip
    parser.add_argument("--list-midi", action="store_true", help="list MIDI inputs and exit")
    parser.add_argument("--midi-api", help="rtmidi API, e.g. UNIX_JACK (default: ALSA)")
    parser.add_argument("--record-dir", default="takes", help="where Record writes takes")
    parser.add_argument("--play", action="store_true", help="start the sound on opening")
    parser.add_argument("--quit-after", type=float, help="close the panel after this many seconds")
    args = parser.parse_args(argv)
    if args.list_devices:
        print(devices.table(devices.output_devices()))
        return 0
    if args.device is not None:
        devices.resolve(args.device)  # an unknown device fails before the model loads
    names = midi.input_names(args.midi_api)
    if args.list_midi:
        print("\n".join(f"{i}: {n}" for i, n in enumerate(names)) or "no MIDI inputs")
        return 0
    port_name = midi.choose_port(names, args.midi_port)
    run = load_run(run_folder(workdir=args.workdir, model=args.model))
    engine = SynthEngine(run, phase=args.phase, voices=args.voices)
    low, high = latent_span(run)
    embedding = training_embedding(run)
    output = None
    if default_output_available():
        output = AudioOutput(engine, device=args.device, rate=args.rate, channels=args.channels)
    import pyqtgraph as pg  # Qt is loaded only once the model and devices are known good
    from pyqtgraph.Qt import QtCore

    from timbre_jax.synth.panel import SynthPanel

    app = pg.mkQApp("timbre_jax")
    panel = SynthPanel(engine, run=run, low=low, high=high, embedding=embedding, output=output,
                       record_dir=args.record_dir, midi_port=port_name,
                       midi_api=args.midi_api)  # fmt: skip
    panel.show()
    if args.play and output is not None:
        panel.play.setChecked(True)
    if args.quit_after:
        QtCore.QTimer.singleShot(round(1000 * args.quit_after), app.quit)
    app.exec()
    panel.set_midi_input(None)
    if output is not None:
        if panel.play.isChecked():
            panel.play.setChecked(False)
        print(f"played {output.ring.read / output.sample_rate:.1f} s, {output.underruns} underruns")
        output.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown, where Qt objects deleted out of order can abort
