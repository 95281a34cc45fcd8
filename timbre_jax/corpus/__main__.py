"""`python -m timbre_jax.corpus {render,build,info}`: the corpus command line."""

from __future__ import annotations

import json
import sys

from timbre_jax.cli import ArgumentParser, command, deferred_interrupts
from timbre_jax.corpus.build import build_corpus
from timbre_jax.corpus.presets import PRESETS
from timbre_jax.corpus.render import render_preset
from timbre_jax.corpus.report import corpus_report, format_report
from timbre_jax.dsp.chroma import CHROMA_METHODS


def parse_args(argv: list[str] | None = None):
    parser = ArgumentParser(prog="python -m timbre_jax.corpus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="render a preset's clips from a SoundFont")
    render.add_argument("--preset", required=True, help=f"one of {sorted(PRESETS)}")
    render.add_argument("--out", required=True, help="folder for the WAV clips and manifest")
    render.add_argument("--soundfont", help="an .sf2 bank (default: TimGM6mb from pretty_midi)")
    render.add_argument("--overwrite", action="store_true", help="replace an existing --out")

    build = commands.add_parser("build", help="build a corpus from a folder of audio")
    build.add_argument("--audio", required=True, help="folder of audio (manifest.json optional)")
    build.add_argument("--out", required=True, help="corpus folder to write")
    build.add_argument("--chroma", default="pitch_filterbank", help=f"one of {CHROMA_METHODS}")
    build.add_argument("--seed", type=int, default=0, help="seed of the file split (no manifest)")
    build.add_argument("--pitch", default="manifest", help="frames' notes: manifest or pyin")
    build.add_argument("--overwrite", action="store_true", help="replace an existing --out")

    info = commands.add_parser("info", help="print a corpus report")
    info.add_argument("corpus", help="corpus folder")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args(argv)


@command
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "render":
        manifest = render_preset(
            args.preset, args.out, soundfont=args.soundfont, overwrite=args.overwrite
        )
        print(f"rendered {len(manifest['clips'])} clips of {args.preset!r} into {args.out}")
    elif args.command == "build":
        with deferred_interrupts():
            meta = build_corpus(
                args.audio, args.out, chroma_method=args.chroma, pitch=args.pitch,
                overwrite=args.overwrite, seed=args.seed,
            )  # fmt: skip
        counts = ", ".join(f"{s} {v['frames']}" for s, v in meta["splits"].items())
        print(f"built {args.out}: {counts} frames")
        labelled = meta["splits"]["train"]["pitch_labels"]["with_estimate"]
        if not labelled:
            print("no frame has a note (no manifest notes; --pitch pyin estimates them): mesh "
                  "scores the pitch class only, and note models (model.conditioning=note) "
                  "cannot train on it")  # fmt: skip
    else:
        report = corpus_report(args.corpus)
        print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
