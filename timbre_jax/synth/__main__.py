"""`python -m timbre_jax.synth --workdir runs/NAME` (or `--model violin`, a pretrained model
from results/pretrained): play a trained model, from the panel or `--headless`.

Plays `--voices` notes at once (default 8) through the default audio output (or `--device`),
listens to the first MIDI input that is not a "Through" port (or `--midi-port INDEX|NAME`;
`--list-midi` lists them; `--midi-api UNIX_JACK` for JACK MIDI), and, with `--osc PORT`, to
OSC on UDP (the addresses are in timbre_jax/synth/README.md and osc.py). Records takes into
`--record-dir`. `--list-devices` lists the audio outputs; the sound plays at the output's
default rate on all its channels (or `--rate HZ`, `--channels N`), the same signal on each.
`--headless` plays with no window (no Qt loaded), printing `ready` once a note sounds at once
and a status line until Ctrl-C.
"""

from __future__ import annotations

import time

LAUNCHED = time.perf_counter()  # before the imports below, which take most of the start-up

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from timbre_jax.analysis.embedding import latent_span, training_embedding  # noqa: E402
from timbre_jax.cli import ArgumentParser, command  # noqa: E402
from timbre_jax.errors import ParameterError  # noqa: E402
from timbre_jax.model.run import (  # noqa: E402
    describe_model,
    load_run,
    pretrained_names,
    run_folder,
)
from timbre_jax.synth import devices, midi  # noqa: E402
from timbre_jax.synth.audio_out import default_output_available, run_jax_inline  # noqa: E402
from timbre_jax.synth.callback_trace import describe, lateness  # noqa: E402
from timbre_jax.synth.engine import (  # noqa: E402
    BETWEEN_NOTES,
    BLEND,
    MAX_BEND,
    VIBRATO_HZ,
    VOICES,
    SynthEngine,
    check_glide,
    check_residual,
    check_vibrato,
    check_vibrato_rate,
)
from timbre_jax.synth.harmonic_phase import RESIDUAL_DB  # noqa: E402
from timbre_jax.synth.osc import LOCALHOST, OscControls, OscInput  # noqa: E402
from timbre_jax.synth.session import Session  # noqa: E402

STATUS_SECONDS = 1.0  # between status lines in headless play
FIRST_PAINT_MS = 300  # the panel is drawn once before the sound starts


def since_launch() -> float:
    """Seconds since the process started (Linux: from /proc, so the interpreter's own start
    counts too), else since this module began to load."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - LAUNCHED


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m timbre_jax.synth", description=__doc__)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--workdir", help="a run folder")
    source.add_argument("--model", help=f"a pretrained model: one of {pretrained_names()}")
    p.add_argument("--phase", help="noise, rtpghi or harmonic (note models; their default, "
                   "else noise)")  # fmt: skip
    p.add_argument("--device", help="audio output index or (part of its) name")
    p.add_argument("--list-devices", action="store_true", help="list audio outputs and exit")
    p.add_argument("--rate", type=int, help="output sample rate, Hz (default: the device's)")
    p.add_argument("--channels", type=int, help="output channels (default: all the device's)")
    p.add_argument("--voices", type=int, default=VOICES, help="notes sounding at once")
    p.add_argument("--midi-port", help="MIDI input index or name (default: the first one that "
                   "is not a Through port)")  # fmt: skip
    p.add_argument("--list-midi", action="store_true", help="list MIDI inputs and exit")
    p.add_argument("--midi-api", help="rtmidi API: LINUX_ALSA (default) or UNIX_JACK")
    default_cc = f"CC {midi.CC_BASE}, {midi.CC_BASE + 1}, ... for z0, z1, ..."
    p.add_argument("--cc", help=f"controllers for the latent axes, e.g. z0=1,z1=74 (default: "
                   f"{default_cc})")  # fmt: skip
    expression = p.add_argument_group("expression (heard under the harmonic phase)")
    expression.add_argument("--bend-range", type=float, default=midi.BEND_RANGE,
                            metavar="SEMITONES", help="the pitch wheel's reach either way (RPN 0 "
                            "from a controller changes it)")  # fmt: skip
    expression.add_argument("--vibrato-depth", type=float, default=midi.VIBRATO_DEPTH,
                            metavar="CENTS", help="vibrato with the mod wheel (CC 1) all the "
                            "way up")  # fmt: skip
    expression.add_argument("--vibrato-rate", type=float, default=VIBRATO_HZ, metavar="HZ",
                            help="vibrato rate")  # fmt: skip
    expression.add_argument("--glide", type=float, default=0.0, metavar="MS",
                            help="portamento: each new note slides from the one before in MS "
                            "ms")  # fmt: skip
    expression.add_argument("--legato", action="store_true",
                            help="one line of notes, as a violinist plays: a key pressed while "
                            "one is held moves that note to it, with no new attack (CC 68 "
                            "turns it on and off)")  # fmt: skip
    expression.add_argument("--residual", type=float, default=RESIDUAL_DB, metavar="DB",
                            help="level between the harmonics, -60 to 0 dB (CC 71 moves "
                            "it)")  # fmt: skip
    expression.add_argument("--between-notes", choices=BETWEEN_NOTES, default=BLEND,
                            help="what a note model decodes for a note bent between two it "
                            "was trained on: blend (the two notes' conditions mixed by the "
                            "bend; default), frames (both notes' frames mixed: twice the "
                            "decoding) or nearest (the nearer note's)")  # fmt: skip
    expression.add_argument("--pressure", metavar="z1|gain",
                            help="what pressure (aftertouch) moves: a latent axis, or the gain "
                            "(not with --mpe); polyphonic and MPE pressure move that axis of "
                            "the note's own point (default: none; with --mpe, z1)")  # fmt: skip
    expression.add_argument("--mpe", action="store_true",
                            help="an MPE lower zone: channels 2-16 one note each, with its own "
                            "pitch wheel, pressure and CC 74 (--slide), so held notes bend and "
                            "change timbre apart")  # fmt: skip
    expression.add_argument("--slide", metavar="z0",
                            help="the latent axis an MPE note's CC 74 moves (default with "
                            "--mpe: z0)")  # fmt: skip
    p.add_argument("--osc", type=int, metavar="PORT", help="listen for OSC on this UDP port")
    p.add_argument("--osc-host", default=LOCALHOST,
                   help="interface OSC listens on (default: localhost, this machine only; "
                        "0.0.0.0 lets ANY machine on the network play the synth)")  # fmt: skip
    p.add_argument("--record-dir", default="takes", help="where Record writes takes")
    p.add_argument("--headless", action="store_true", help="play without the panel (no Qt)")
    p.add_argument("--play", action="store_true", help="start the sound on opening the panel")
    p.add_argument("--quit-after", type=float, help="stop after this many seconds")
    p.add_argument("--trace", metavar="FILE.npz",
                   help="on exit, write each audio callback's timestamps here and say what "
                   "made late cycles late (timbre_jax/synth/callback_trace.py)")  # fmt: skip
    return p


def check(args) -> None:
    """Refuses what cannot work, before the model loads."""
    if args.midi_api is not None and args.midi_api not in midi.api_names():
        raise ParameterError(f"--midi-api {args.midi_api!r} is not one of {midi.api_names()}")
    for flag in ("rate", "channels", "voices"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise ParameterError(f"--{flag} must be positive, got {value}")
    if not 0 <= args.bend_range <= MAX_BEND:
        raise ParameterError(
            f"--bend-range must be 0-{MAX_BEND:g} semitones, got {args.bend_range}"
        )
    check_vibrato(args.vibrato_depth)
    check_vibrato_rate(args.vibrato_rate)
    check_glide(args.glide / 1000)
    check_residual(args.residual)
    if args.legato and args.mpe:
        raise ParameterError("--legato plays one line of notes and --mpe a note per channel: "
                             "choose one")  # fmt: skip
    if args.osc is not None and not 0 <= args.osc <= 65535:
        raise ParameterError(f"--osc must be a UDP port 0-65535, got {args.osc}")
    if args.quit_after is not None and not 0 < args.quit_after < 1e6:
        raise ParameterError(
            f"--quit-after must be a positive number of seconds (under 1e6), got {args.quit_after}"
        )
    record_dir = Path(args.record_dir)
    if record_dir.exists() and not (record_dir.is_dir() and os.access(record_dir, os.W_OK)):
        raise ParameterError(f"--record-dir {args.record_dir!r} is not a writable folder")
    trace_dir = Path(args.trace).resolve().parent if args.trace else None
    if trace_dir is not None and not (trace_dir.is_dir() and os.access(trace_dir, os.W_OK)):
        raise ParameterError(f"--trace {args.trace!r}: {trace_dir} is not a writable folder")
    if args.device is not None:
        devices.resolve(args.device)  # an unknown device is named with the list
    if (args.play or args.headless) and not default_output_available():
        raise ParameterError(f"--{'headless' if args.headless else 'play'} needs an audio "
                             "output and PortAudio finds none (--list-devices)")  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run_jax_inline()  # before the first computation: each hop is the producer thread's alone
    if args.list_devices:
        print(devices.table(devices.output_devices()))
        return 0
    check(args)
    if args.list_midi:
        names = midi.input_names(args.midi_api)
        print("\n".join(f"{i}: {n}" for i, n in enumerate(names)) or "no MIDI inputs")
        return 0
    folder = run_folder(workdir=args.workdir, model=args.model)
    if args.model:
        print(describe_model(folder), flush=True)
    run = load_run(folder)
    low, high = latent_span(run)
    cc_map = midi.parse_cc_map(args.cc, run.latent_dim) if args.cc else None
    loaded = since_launch()
    engine = SynthEngine(run, phase=args.phase, voices=args.voices,
                         between_notes=args.between_notes)  # fmt: skip
    compiled = since_launch()
    # the MIDI system is asked last: where it is missing, ALSA writes a line of its own
    port_name = midi.choose_port(midi.input_names(args.midi_api), args.midi_port)
    session = Session(run, engine, record_dir=args.record_dir)
    session.set_vibrato_rate(args.vibrato_rate)
    session.set_glide(args.glide / 1000)
    session.set_legato(args.legato)
    session.set_residual(args.residual)
    try:
        if default_output_available():
            session.open_output(device=args.device, rate=args.rate, channels=args.channels)
        controller = midi.MidiController(session, low, high, cc_map, bend_range=args.bend_range,
                                         vibrato_depth=args.vibrato_depth,
                                         **expression_axes(args, run.latent_dim))  # fmt: skip

        def open_inputs() -> None:
            """The MIDI and OSC inputs, opened once a note sent to them would sound at once."""
            session.switch_midi(port_name, controller, args.midi_api)
            none = "none found (--list-midi lists them; --midi-api UNIX_JACK for JACK's)"
            print(f"MIDI in: {port_name or none}", flush=True)
            if args.osc is not None:
                osc = OscInput(OscControls(session, low, high), args.osc, args.osc_host)
                session.add_source(osc)
                print(f"OSC on udp://{osc.host}:{osc.port}", flush=True)

        steps = f"model {loaded:.1f} s, compiled {compiled - loaded:.1f} s"
        if args.headless:
            watcher = (midi.watch_ports(session, controller, args.midi_api)
                       if port_name is None and args.midi_port is None else None)  # fmt: skip
            return play_headless(session, open_inputs, steps=steps, quit_after=args.quit_after,
                                 watcher=watcher)  # fmt: skip
        return play_panel(session, open_inputs, args, controller, low, high,
                          training_embedding(run), steps)  # fmt: skip
    finally:  # whatever ended the play (a mistake, Ctrl-C, SIGTERM): ports and device let go
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut it short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        session.close()
        if args.trace and session.output is not None:
            save_trace(session.output, args.trace)


def save_trace(output, path: str) -> None:
    """Writes the stream's callback trace to `path` and prints what it says."""
    output.trace.save(path, period=output.period)
    summary = lateness(**output.trace.arrays(), period=output.period)
    print(f"trace: {describe(summary)} (written to {path})", flush=True)


def expression_axes(args, latent_dim: int) -> dict:
    """The MIDI controller's pressure, slide and MPE options from the flags (MPE's defaults:
    CC 74 moves z0, pressure z1)."""
    pressure = midi.parse_axis(args.pressure, latent_dim, "--pressure", gain=not args.mpe)
    slide = midi.parse_axis(args.slide, latent_dim, "--slide")
    if args.mpe:
        slide = 0 if slide is None else slide
        pressure = min(1, latent_dim - 1) if pressure is None else pressure
    elif args.slide is not None:
        raise ParameterError("--slide is MPE's CC 74 per note: give --mpe too")
    return {"pressure": pressure, "mpe": args.mpe, "slide": slide}


def ready_line(session: Session, steps: str) -> str:
    """What the synth says once a note sounds at once: the start-up's time, and the priority
    the host gave the producer thread."""
    output, priority = session.output, ""
    if output is not None:
        realtime = output.producer.realtime
        priority = f"; producer at {'real-time' if realtime else 'normal'} priority"
    return f"ready in {since_launch():.1f} s from launch ({steps}{priority})"


def stop_playing(signum, frame) -> None:
    raise KeyboardInterrupt


def play_headless(session: Session, open_inputs, *, steps: str, quit_after: float | None,
                  watcher: midi.PortWatcher | None = None) -> int:  # fmt: skip
    """Opens the inputs (`open_inputs()`) and plays until Ctrl-C or SIGTERM (or `quit_after`
    seconds), a status line every second; with a `watcher`, opens a MIDI input that appears
    while it plays."""
    # both stop cleanly, also where SIGINT was ignored when the process started (a shell's
    # background job), in which case Python raises nothing for it
    signal.signal(signal.SIGINT, stop_playing)
    signal.signal(signal.SIGTERM, stop_playing)
    output = session.output
    stop_at = time.monotonic() + (quit_after or float("inf"))
    tty = sys.stdout.isatty()
    try:
        open_inputs()
        session.start()
        print(ready_line(session, steps), flush=True)
        while time.monotonic() < stop_at and session.error is None:
            time.sleep(min(STATUS_SECONDS, max(0.0, stop_at - time.monotonic())))
            plugged = watcher.poll() if watcher is not None else None
            for line in [*session.news(), *([plugged] if plugged else [])]:
                print(("\n" if tty else "") + line, flush=True)
            print(("\r" if tty else "") + session.status(), end="" if tty else "\n", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        session.close()
        if watcher is not None:
            watcher.close()
    final = session.peek()
    print(f"\nplayed {output.ring.read / output.sample_rate:.1f} s: {session.status()}")
    if output.problems():
        print(f"{output.problems()} of the stream")
    controls = {"latent": final.latent, "gain": final.gain, "phase": final.phase,
                "notes": final.notes, "sounding": session.engine.sounding, "bend": final.bend,
                "vibrato": final.vibrato, "expression": final.expression}  # fmt: skip
    print(f"final {json.dumps(controls)}")
    if session.error is not None:
        print(f"error: the sound stopped: {session.error!r}", file=sys.stderr)
        return 1
    return 0


def play_panel(session: Session, open_inputs, args, controller, low, high, embedding,
               steps: str) -> int:  # fmt: skip
    """Shows the panel; after its first paint opens the inputs (`open_inputs()`), starts the
    sound with `--play`, and says it is ready."""
    import pyqtgraph as pg  # Qt is loaded only once the model and devices are known good
    from pyqtgraph.Qt import QtCore

    from timbre_jax.synth.panel import SynthPanel

    app = pg.mkQApp("timbre_jax")
    panel = SynthPanel(session, low=low, high=high, embedding=embedding, controller=controller,
                       midi_api=args.midi_api)  # fmt: skip
    panel.show()

    failed = []  # what opening the inputs raised: raised again once Qt has let go

    def ready() -> None:
        try:
            open_inputs()
        except Exception as err:  # not raised into Qt's event loop
            failed.append(err)
            app.quit()
            return
        panel.rescan_midi()  # shows the input opened
        if args.play and session.output is not None:
            panel.play.setChecked(True)
        print(ready_line(session, steps), flush=True)

    # after the first paint: drawing the embedding the first time holds the GIL for 4-7 ms,
    # longer than a 256-frame period, which the device flags as an underflow
    QtCore.QTimer.singleShot(FIRST_PAINT_MS, ready)
    if args.quit_after:
        QtCore.QTimer.singleShot(round(1000 * args.quit_after), app.quit)
    app.exec()
    session.close()
    if failed:
        raise failed[0]
    if session.output is not None:
        output = session.output
        print(f"played {output.ring.read / output.sample_rate:.1f} s: {session.status()}")
        if output.problems():
            print(f"{output.problems()} of the stream")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown, where Qt objects deleted out of order can abort
