"""Audio outputs (PortAudio, through sounddevice): list them and resolve `--device`.

An output is a device with at least one output channel. `--device` names one by its index
("0"), its name, or a part of its name that no other output's name contains (compared
case-insensitively; an exact name wins over a part).
"""

from __future__ import annotations

from typing import NamedTuple

from timbre_jax.errors import ParameterError


class OutputDevice(NamedTuple):
    """An audio output as PortAudio reports it."""

    index: int  # PortAudio's device index, what `--device` and sounddevice take
    name: str
    host_api: str  # e.g. "ALSA", "JACK Audio Connection Kit"
    channels: int  # output channels
    sample_rate: int  # default sample rate, Hz


def output_devices() -> list[OutputDevice]:
    """The outputs in PortAudio's order; none without a working PortAudio library."""
    try:
        import sounddevice as sd  # loads and initialises PortAudio
    except Exception:  # no PortAudio library (OSError), or it failed to initialise
        return []
    return [
        OutputDevice(
            i,
            d["name"],
            sd.query_hostapis(d["hostapi"])["name"],
            channels=d["max_output_channels"],
            sample_rate=round(d["default_samplerate"]),
        )
        for i, d in enumerate(sd.query_devices())
        if d["max_output_channels"] > 0
    ]


def default_index() -> int | None:
    """PortAudio's default output device, or None when it has none."""
    import sounddevice as sd

    try:
        return sd.query_devices(kind="output")["index"]
    except sd.PortAudioError:
        return None


def listing(outputs: list[OutputDevice]) -> str:
    """One line: `0: name; 1: name; ...` (or `none`), for error messages."""
    return "; ".join(f"{d.index}: {d.name}" for d in outputs) or "none"


def table(outputs: list[OutputDevice]) -> str:
    """What `--list-devices` prints: a row per output, the default one marked with `*`."""
    if not outputs:
        return "no audio outputs"
    default = default_index()
    rows = [f"  {'index':>5}  {'name':32}  {'host API':28}  channels  default rate"]
    rows += [f"{'*' if d.index == default else ' '} {d.index:5d}  {d.name:32}  {d.host_api:28}  "
             f"{d.channels:8d}  {d.sample_rate:9d} Hz" for d in outputs]  # fmt: skip
    return "\n".join(rows)


def resolve(device: int | str | None = None) -> OutputDevice:
    """The output `device` names: an index (int or digits), a name or a unique part of one;
    None for PortAudio's default output. Raises `ParameterError`, listing the outputs, when
    there is no such output."""
    outputs = output_devices()
    if device is None:
        default = default_index()
        matches = [d for d in outputs if d.index == default]
    elif isinstance(device, int) or device.isdigit():
        matches = [d for d in outputs if d.index == int(device)]
    else:
        wanted = device.lower()
        matches = [d for d in outputs if d.name.lower() == wanted] or [
            d for d in outputs if wanted in d.name.lower()
        ]
    if len(matches) != 1:
        if device is None:
            problem = "no default audio output"
        else:
            problem = f"audio output {device!r} {'matches several' if matches else 'not found'}"
        raise ParameterError(f"{problem}; outputs: {listing(outputs)}")
    return matches[0]
