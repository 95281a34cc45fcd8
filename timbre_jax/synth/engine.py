"""The synth engine: latent point + notes -> decoded magnitudes -> phase -> overlap-add audio.

Every hop (1024 samples at 44.1 kHz) the engine moves its latent point a step toward the
target (one-pole smoothing), decodes one magnitude frame for every sounding voice in one
batched call of the jit-compiled decoder (all voices share the latent point; each has its own
note), gives each its own phase (`noise`, `rtpghi` or, for a note model, `harmonic`: locked
to the exact harmonics of the voice's note, on the engine's hop clock, so partials that
voices share sum coherently; with per-voice state), sums the voices'
complex spectra scaled by their envelopes and velocities, and overlap-adds one inverse FFT,
windowed by the same Hann window, into the output. Gain is ramped sample by sample and the bus
goes through a limiter (`limiter.py`), so the output never reaches full scale. No control
change steps the waveform: after any change (phase method, note, latent jump, gain) the
largest sample-to-sample step of the next 2048 samples stays within 1.5 times the largest
step of the second before it (asserted in tests/test_synth_engine.py). No Qt, no audio
device: it renders offline too. Notes are MIDI pitches; a chroma model plays pitch % 12.
Nothing below `LOWEST_HZ` reaches the output (decoded DC and rumble are cut, and the bins
whose window main lobe reaches below it: up to 32 Hz at 44.1 kHz and 4096 points); under
`harmonic` phase each voice also goes through `HarmonicPhase.shape` (each harmonic's energy
at its exact frequency, the residual (5 dB down by default) spread between and under the
harmonics, from 60 Hz up).
The engine is single-threaded: one thread calls its setters and `next_hop` (a session's
producer while it plays, or an offline render). Other threads play it through a `Session`.
"""

from __future__ import annotations

import time
from functools import lru_cache, partial
from typing import NamedTuple

import jax
import numpy as np

from timbre_jax.dsp.spectral import hann_window
from timbre_jax.errors import ParameterError
from timbre_jax.model.conditioning import condition_of_pitches, fold_into_range
from timbre_jax.model.run import Run
from timbre_jax.progress import progress_bar
from timbre_jax.synth.harmonic_phase import LOBE_BINS, RESIDUAL_DB, HarmonicPhase, midi_to_hz
from timbre_jax.synth.limiter import Limiter
from timbre_jax.synth.phase import PHASE_METHODS, RTPGHI, NoisePhase
from timbre_jax.synth.voices import Voices

SMOOTHING_SECONDS = 0.03  # time constant of the latent point's glide toward its target
ATTACK_SECONDS = 0.01  # gate on: linear rise (per hop: a note is at full level in one hop)
RELEASE_SECONDS = 0.2  # gate off: linear fall
LEVEL = 0.25  # amplitude of a voice whose spectrum is one full peak (-12 dBFS sine)
VOICES = 8  # default polyphony
NOISE_OFFSET = 97  # frames between the voices' starting points in the shared noise-phase table
TIMING_WINDOW = 2048  # hops of compute time kept for statistics
LOWEST_HZ = 20.0  # nothing below this is sounded
VIBRATO_HZ = 5.5  # default vibrato rate (Controls.vibrato_hz's default too)
VIBRATO_RATES = (0.1, 20.0)  # Hz
MAX_GLIDE = 10.0  # seconds of portamento
RESIDUALS = (-60.0, 0.0)  # dB: the residual between the harmonics, from almost none to all
MAX_BEND = 48.0  # semitones either way (MPE's widest range)
MAX_VIBRATO = 100.0  # cents of vibrato depth, either way
BETWEEN_NOTES = ("blend", "frames", "nearest")  # what a note model decodes for a bent voice
BLEND = BETWEEN_NOTES[0]  # the default: measured in results/performance.md


@lru_cache(maxsize=64)
def vibrato_scale(n_fft: int, hz: float, sample_rate: int) -> float:
    """Semitones of bend per cent of vibrato depth at `hz`, deepened by what the overlap-add
    smooths away (`modulation_gain`): the depth set is the depth heard."""
    return 1 / modulation_gain(hann_window(n_fft), hz, sample_rate) / 100


def modulation_gain(window: np.ndarray, hz: float, sample_rate: int) -> float:
    """How much of a pitch modulation at `hz` the overlap-add keeps (0..1]: each output sample
    sums the frames around it weighted by the window squared, so a pitch that moves is heard
    as that weighted average of the frames' pitches (0.90 at 5.5 Hz for a 4096-point Hann
    window at 44.1 kHz)."""
    weights = np.square(window, dtype=np.float64)
    offsets = np.arange(len(window)) - len(window) // 2
    return float(abs(np.sum(weights * np.exp(-2j * np.pi * hz * offsets / sample_rate)))
                 / weights.sum())  # fmt: skip


def check_bend(semitones: float) -> float:
    if not (np.isfinite(semitones) and abs(semitones) <= MAX_BEND):
        raise ParameterError(f"bend must be within +-{MAX_BEND:g} semitones, got {semitones!r}")
    return float(semitones)


def check_residual(db: float) -> float:
    low, high = RESIDUALS
    if not (np.isfinite(db) and low <= db <= high):
        raise ParameterError(f"the residual must be {low:g} to {high:g} dB, got {db!r}")
    return float(db)


def check_glide(seconds: float) -> float:
    if not (np.isfinite(seconds) and 0 <= seconds <= MAX_GLIDE):
        raise ParameterError(f"glide must be 0-{MAX_GLIDE:g} s, got {seconds!r}")
    return float(seconds)


def check_vibrato_rate(hz: float) -> float:
    low, high = VIBRATO_RATES
    if not (np.isfinite(hz) and low <= hz <= high):
        raise ParameterError(f"the vibrato rate must be {low:g}-{high:g} Hz, got {hz!r}")
    return float(hz)


def check_vibrato(cents: float) -> float:
    if not (np.isfinite(cents) and 0 <= cents <= MAX_VIBRATO):
        raise ParameterError(f"vibrato depth must be 0-{MAX_VIBRATO:g} cents, got {cents!r}")
    return float(cents)


def phase_methods(run: Run) -> tuple[str, ...]:
    """The phase methods a model can play with: `harmonic` needs a note model's known f0."""
    return PHASE_METHODS if run.note_range is not None else PHASE_METHODS[:2]


def default_phase(run: Run) -> str:
    """`harmonic` for a note model (in tune), else the paper's `noise`."""
    return "harmonic" if "harmonic" in phase_methods(run) else "noise"


class Controls(NamedTuple):
    """What a player sets; the engine's target state."""

    latent: tuple[float, ...]
    gain: float  # 0..1
    notes: tuple[tuple[int, int], ...] = ()  # (MIDI pitch, velocity) of every note gated
    phase: str | None = None  # the phase method (None: leave the engine's as it is)
    cut: bool = False  # all sound off (MIDI CC 120) before this hop: every voice stops at once
    bend: float = 0.0  # semitones every voice is bent by (the pitch wheel)
    vibrato: float = 0.0  # vibrato depth in cents (the mod wheel)
    vibrato_hz: float = VIBRATO_HZ  # vibrato rate
    glide: float = 0.0  # portamento: seconds a new note takes from the one before (0: none)
    # per-note expression (MPE, polyphonic pressure): (pitch, its own bend in semitones on top
    # of the channel's, its own latent point or () for the channel's) of gated notes that have
    # any; the others play the channel's
    expression: tuple[tuple[int, float, tuple[float, ...]], ...] = ()
    residual: float = RESIDUAL_DB  # dB between the harmonics under the harmonic phase
    legato: bool = False  # one line of notes: a key pressed while one is held moves it there


def decode_frames(model, params, z, low, high, fraction):
    """Magnitude frames [k, n_bins] for latent points z [k, d], each conditioned between MIDI
    pitches low [k] and high [k]: their conditioning vectors mixed by fraction [k] (0: low's
    alone). A chroma model hears pitch % 12, a note model the pitch."""
    below, above = (condition_of_pitches(p, model.conditioning) for p in (low, high))
    condition = below + fraction[:, None] * (above - below)
    return model.apply({"params": params}, z, condition, method="decode")


@lru_cache(maxsize=8)
def compiled_decoder(run: Run):
    """`decode_frames` jitted with the run's parameters as constants (faster per call than
    passing them), compiled once per loaded run however many engines play it."""
    return jax.jit(partial(decode_frames, run.model, run.params))


def batch_size(sounding: int, voices: int) -> int:
    """The decoder's batch for `sounding` voices: a power of two, so that few sizes compile."""
    return min(voices, 1 << max(0, sounding - 1).bit_length())


class SynthEngine:
    """Streams audio from a trained decoder.

    Args:
      run: a trained model (`model.run.load_run`), with a chroma skip connection or not.
      phase: "noise", "rtpghi" or "harmonic" (note models); None: `default_phase(run)`.
      voices: how many notes may sound at once.
      tolerance_db: RTPGHI's tolerance (quieter bins get random phase).
      seed: seed of the noise phase and RTPGHI's random phases.
      between_notes: what a note model decodes for a voice bent between two of its trained
        notes: "blend" (one frame, conditioned on the two notes' vectors mixed by where the
        bent pitch lies between them), "frames" (the two notes' frames, mixed so: twice the
        decoding) or "nearest" (the nearer note's).
    """

    def __init__(self, run: Run, *, phase: str | None = None, voices: int = VOICES,
                 tolerance_db: float = -60.0, seed: int = 0,
                 between_notes: str = BLEND):  # fmt: skip
        spectral = run.spectral
        self.sample_rate, self.n_fft = spectral["sample_rate"], spectral["n_fft"]
        self.hop_length = spectral["hop_length"]
        n_bins = run.meta["model"]["n_bins"]
        if n_bins != self.n_fft // 2 + 1 or self.n_fft % self.hop_length:
            raise ParameterError(
                f"the model's {n_bins} bins do not fit n_fft={self.n_fft} "
                f"and hop_length={self.hop_length}: the engine overlap-adds n_fft // 2 + 1 bins "
                "at a hop that divides n_fft"
            )
        self.latent_dim, self.bottleneck = run.latent_dim, run.bottleneck
        self.note_range = run.note_range  # a note model plays these; others move by octaves
        if self.note_range is not None:  # what a bend between notes decodes from
            low, high = self.note_range
            self._bend_notes = np.array(run.trained_notes or range(low, high + 1))
        self.phase_methods = phase_methods(run)
        # bins cut: those below LOWEST_HZ and those whose main lobe reaches below it, 0-32 Hz
        # at 44.1 kHz (with noise phase a 21.5 Hz bin put 0.5% of a low key's power under 20 Hz)
        self._lowest_bins = (int(np.ceil(LOWEST_HZ * self.n_fft / self.sample_rate))
                             + int(LOBE_BINS))  # fmt: skip
        self._decode = compiled_decoder(run)
        step = self.hop_length / self.sample_rate
        self.voices = Voices(voices, attack_rate=min(1.0, step / ATTACK_SECONDS),
                             release_rate=step / RELEASE_SECONDS)  # fmt: skip
        self.window = hann_window(self.n_fft)
        self._ola_norm = float(np.sum(self.window**2)) / self.hop_length  # 1.5 at 75% overlap
        self._scale = LEVEL * float(self.window.sum()) / 2
        self._frame_phase = np.pi * np.arange(n_bins)  # centre -> frame start
        self._tolerance_db, self._seed = tolerance_db, seed
        self.phases = self._new_phases()
        self._previous_mag = np.zeros((voices, n_bins))  # each voice's last frame
        self._previous_phase = np.zeros((voices, n_bins))
        if between_notes not in BETWEEN_NOTES:
            raise ParameterError(f"between_notes must be one of {BETWEEN_NOTES}")
        self.between_notes = between_notes
        self._most_rows = (2 if between_notes == "frames" else 1) * voices  # a decode's batch
        self._vibrato_cycles = 0.0  # the vibrato's phase, in cycles
        self._ratio = np.ones(voices)  # each voice's bend, as a frequency ratio, last hop
        self._f0 = np.zeros(voices)  # ... and the fundamental it was decoded at, Hz
        self._started_at = np.zeros(voices)  # the fundamental each voice's note began at, Hz
        self._detune = np.zeros(voices)  # cycles of its fundamental the bend has added
        self._slide = np.zeros(voices)  # each voice's portamento still to go, semitones
        self._slide_step = np.zeros(voices)  # ... and how far it moves a hop
        self._controls = Controls(run.start_latent, 0.8)
        # each voice's latent point as heard (gliding toward its target: its own, where a
        # note has one, else the channel's), its own target (NaN: none) and its own bend
        self._latent = np.tile(np.asarray(run.start_latent, np.float32), (voices, 1))
        self._own = np.full((voices, self.latent_dim), np.nan, np.float32)
        self._note_bend = np.zeros(voices)
        self._gain = self._controls.gain
        self._bend = 0.0  # the bend heard, gliding toward the target's
        self._alpha = 1.0 - np.exp(-self.hop_length / (self.sample_rate * SMOOTHING_SECONDS))
        self._ola = np.zeros(self.n_fft, np.float32)
        self.limiter = Limiter(hop_length=self.hop_length, sample_rate=self.sample_rate)
        self.last_magnitude = np.zeros(n_bins, np.float32)  # the voices' sum, for displays
        self.last_peak = 0.0
        self.sounding = 0  # voices heard in the last hop
        self.hop_seconds = np.zeros(TIMING_WINDOW)
        self.hops = 0
        self._warm_up(default_phase(run) if phase is None else phase)

    def _new_phases(self) -> list[dict]:
        """Every voice's phase methods in their starting state (the seed's)."""
        spectral = {"n_fft": self.n_fft, "hop_length": self.hop_length}
        return [
            {"noise": NoisePhase(**spectral, seed=self._seed, start=NOISE_OFFSET * v),
             "rtpghi": RTPGHI(tolerance_db=self._tolerance_db, **spectral, seed=self._seed + v),
             "harmonic": HarmonicPhase(**spectral, sample_rate=self.sample_rate,
                                       seed=self._seed + v, start=NOISE_OFFSET * v)}
            for v in range(self.voices.count)
        ]  # fmt: skip

    def _warm_up(self, phase: str) -> None:
        """Compiles the decoder for each batch size and numba's heap before real time."""
        for size in {batch_size(k, self._most_rows) for k in range(1, self._most_rows + 1)}:
            notes = np.zeros(size, np.int32)
            self._decode(np.zeros((size, self.latent_dim), np.float32), notes, notes,
                         np.zeros(size, np.float32))  # fmt: skip
        for method in self.phase_methods:
            self.set_phase(method)
            self.note_on(60)
            self.next_hop()
            self.voices.silence()
        self.set_phase(phase)
        self.reset()

    def _update(self, **fields) -> None:
        self._controls = self._controls._replace(**fields)

    @property
    def controls(self) -> Controls:
        """The current targets, with the notes gated now and the phase method."""
        return self._controls._replace(notes=self.voices.held(), phase=self.phase)

    def set_latent(self, values) -> None:
        values = tuple(float(v) for v in values)
        if len(values) != self.latent_dim or not np.all(np.isfinite(values)):
            raise ParameterError(f"latent needs {self.latent_dim} finite values, got {values!r}")
        self._update(latent=values)

    def set_gain(self, gain: float) -> None:
        if not 0.0 <= gain <= 1.0:
            raise ParameterError(f"gain must be in [0, 1], got {gain!r}")
        self._update(gain=float(gain))

    def set_bend(self, semitones: float) -> None:
        """Bends every voice by `semitones` (within `MAX_BEND`) from the next hop on; heard
        under the harmonic phase of a note model (the others play the notes unbent)."""
        self._update(bend=check_bend(semitones))

    def set_vibrato(self, cents: float) -> None:
        """Vibrato of `cents` depth (0 to `MAX_VIBRATO`), as a bend."""
        self._update(vibrato=check_vibrato(cents))

    def set_vibrato_rate(self, hz: float) -> None:
        """The vibrato's rate; a change keeps its phase (no jump)."""
        self._update(vibrato_hz=check_vibrato_rate(hz))

    def set_residual(self, db: float) -> None:
        """The level between the harmonics under the harmonic phase (bow noise, breath), in
        dB of the decoded level: 0 keeps it all, -60 almost none."""
        self._update(residual=check_residual(db))

    def set_glide(self, seconds: float) -> None:
        """Portamento: each new note starts at the note played before it and slides to its
        own in `seconds` (0: none); heard where bends are."""
        self._update(glide=check_glide(seconds))

    def set_legato(self, on: bool) -> None:
        """One line of notes (`Voices.set_legato`): a key pressed while a note is held moves
        that voice to it, its oscillators running on, sliding by the glide."""
        self.voices.set_legato(on)
        self._update(legato=bool(on))

    def note_on(self, pitch: int, velocity: int = 100) -> None:
        """Plays MIDI `pitch` (0-127) at `velocity` (1-127) until `note_off`; a new note
        starts with the channel's latent point and bend (`set_expression` gives it its own)."""
        v = self.voices.note_on(pitch, velocity)
        if self.voices.fresh[v]:  # none of the voice's last note: its point, bend or timbre
            self._own[v], self._note_bend[v] = np.nan, 0.0
            self._latent[v] = self._controls.latent

    def set_expression(self, pitch: int, bend: float, latent=()) -> None:
        """Gives the gated note `pitch` its own bend (semitones, on top of the channel's) and
        latent point [latent_dim] (() : the channel's): the bend at once (an MPE wheel sends
        every step), the latent point gliding as the shared one does."""
        latent = tuple(float(v) for v in latent)
        if latent and (len(latent) != self.latent_dim or not np.all(np.isfinite(latent))):
            raise ParameterError(f"a note's latent needs {self.latent_dim} finite values")
        for v in np.flatnonzero(self.voices.gated & (self.voices.pitch == pitch)):
            self._note_bend[v] = check_bend(bend)
            self._own[v] = latent if latent else np.nan

    def note_off(self, pitch: int) -> None:
        self.voices.note_off(pitch)

    def set_sustain(self, down: bool) -> None:
        self.voices.set_sustain(down)

    def release_all(self) -> None:
        """All notes off: every note releases."""
        self.voices.release_all()

    def silence(self) -> None:
        """All sound off: every voice stops at once (the last frames still fade out)."""
        self.voices.silence()

    def set_phase(self, method: str) -> None:
        if method not in self.phase_methods:
            why = " (harmonic needs a note model)" if method in PHASE_METHODS else ""
            raise ParameterError(f"unknown phase method {method!r}{why}; choose one of "
                                 f"{self.phase_methods}")  # fmt: skip
        self.phase = method

    def reset(self) -> None:
        """Silence the overlap-add buffer, put every phase method back in its starting state
        and jump to the controls (no glide, no attack): the same controls played after a
        reset give the same samples."""
        self._ola[:] = 0.0
        self.phases = self._new_phases()
        self._previous_mag[:] = 0.0
        self._previous_phase[:] = 0.0
        self._ratio[:], self._detune[:], self._vibrato_cycles = 1.0, 0.0, 0.0
        self._f0[:], self._started_at[:] = 0.0, 0.0
        self._slide[:], self._slide_step[:] = 0.0, 0.0
        order = self.voices.settle()
        own, bends = self._own[order], self._note_bend[order]  # each note keeps its own ...
        self._own[:], self._note_bend[:] = np.nan, 0.0
        self._own[: len(order)], self._note_bend[: len(order)] = own, bends  # ... on its voice
        self._latent[:] = self._latent_targets()
        self._gain, self._bend = self._controls.gain, self._controls.bend
        self.limiter.gain = 1.0
        self.hops = 0

    def _ramp(self, start: float, stop: float) -> np.ndarray:
        return np.linspace(start, stop, self.hop_length, endpoint=False, dtype=np.float32)

    def bend_now(self) -> float:
        """This hop's bend in semitones: the wheel's, gliding toward its target as the latent
        point does, plus the vibrato (its phase runs on the engine's clock from a reset)."""
        c = self._controls
        self._bend += self._alpha * (c.bend - self._bend)
        if abs(c.bend - self._bend) < 1e-6:  # there: exactly, so an unbent voice decodes once
            self._bend = c.bend
        wave = float(np.sin(2 * np.pi * self._vibrato_cycles))
        step = c.vibrato_hz * self.hop_length / self.sample_rate
        self._vibrato_cycles = (self._vibrato_cycles + step) % 1.0
        depth = c.vibrato * vibrato_scale(self.n_fft, c.vibrato_hz, self.sample_rate)
        return self._bend + depth * wave

    def _decode_voices(self, sounding, decoded: np.ndarray, bends: np.ndarray) -> np.ndarray:
        """Magnitude frames [k, n_bins] of the `sounding` voices [k], each at its own latent
        row, their notes `decoded` [k] bent by `bends` [k] semitones: between two notes, by
        `between_notes` (see the class)."""
        k = len(decoded)
        low = high = np.asarray(decoded)
        fraction = np.zeros(k, np.float32)
        if np.any(bends):  # between the trained notes either side of the bent pitch
            notes, bent = self._bend_notes, decoded + bends
            below = np.clip(np.searchsorted(notes, bent, side="right") - 1, 0, len(notes) - 1)
            low, high = notes[below], notes[np.minimum(below + 1, len(notes) - 1)]
            fraction = np.clip((bent - low) / np.maximum(high - low, 1), 0.0, 1.0)
            fraction = fraction.astype(np.float32)
            if self.between_notes == "nearest":
                low = high = np.where(fraction > 0.5, high, low)
                fraction = np.zeros(k, np.float32)
        mix = self.between_notes == "frames" and fraction.any()
        if mix:  # each neighbour's own frame, mixed below
            low = high = np.concatenate([low, high])
        rows = len(low)
        size = batch_size(rows, self._most_rows)
        padded = [np.zeros(size, dtype) for dtype in (np.int32, np.int32, np.float32)]
        for array, values in zip(padded, (low, high, np.zeros(rows) if mix else fraction),
                                 strict=True):  # fmt: skip
            array[:rows] = values
        latent = np.tile(self._latent[sounding], (size // k + 1, 1))[:size]
        mags = np.asarray(self._decode(latent, *padded))[:rows]
        if not mix:
            return mags
        return (1 - fraction[:, None]) * mags[:k] + fraction[:, None] * mags[k:]

    def _advance_detune(self, sounding, fresh, f0s: np.ndarray, ratios: np.ndarray) -> None:
        """Moves the voices' bends on by one hop: each adds (mean ratio over the hop - 1) f0
        cycles of its fundamental; a new note starts at its ratio with none added. A voice
        legato moved from f0 `was` runs on from where its oscillators were: it adds the
        cycles (was - f0) x the time to the last hop, and its frequency over this hop is the
        mean of the last hop's and this one's."""
        hop = self.hop_length / self.sample_rate
        was, ratio = self._f0[sounding], self._ratio[sounding]
        step = hop * ((was * ratio + f0s * ratios) / 2 - f0s) + (was - f0s) * hop * (self.hops - 1)
        step = np.where(was == f0s, f0s * ((ratio + ratios) / 2 - 1) * hop, step)
        self._detune[sounding] = np.where(fresh, 0.0, self._detune[sounding] + step)
        self._started_at[sounding] = np.where(fresh, f0s, self._started_at[sounding])
        self._ratio[sounding], self._f0[sounding] = ratios, f0s

    def _slides(self, sounding, pitches, starting, glide_seconds: float) -> np.ndarray:
        """[k] the sounding voices' portamento, in semitones, this hop: a note `starting` [k]
        (new, or moved by legato) starts at the note played before it (`Voices.glide_from`)
        and slides to its own in `glide_seconds` (none when 0); then every slide moves on by
        one hop."""
        starts = sounding[starting]
        came_from = self.voices.glide_from[starts]
        glides = (came_from >= 0) & (glide_seconds > 0)
        # in the pitches the decoder plays (a note model's, moved by octaves into its range)
        distance = self.decoded_pitches(np.maximum(came_from, 0)) - self.decoded_pitches(
            pitches[starting]
        )
        self._slide[starts] = np.where(glides, distance, 0.0)
        hops = max(glide_seconds * self.sample_rate / self.hop_length, 1.0)
        self._slide_step[starts] = np.abs(self._slide[starts]) / hops
        slides = self._slide[sounding].copy()
        moved = np.abs(slides) - self._slide_step[sounding]
        self._slide[sounding] = np.sign(slides) * np.maximum(moved, 0.0)
        return slides

    def _spectrum(self, sounding, pitches, amplitudes, fresh, moved,
                  bend: float) -> np.ndarray:  # fmt: skip
        """The sum of the sounding voices' complex spectra [n_bins], bent by `bend` semitones
        and each voice's portamento (heard under the harmonic phase only)."""
        decoded = self.decoded_pitches(pitches)
        bends = bend + self._note_bend[sounding]
        bends += self._slides(sounding, pitches, fresh | moved, self._controls.glide)
        if self.phase != "harmonic":
            bends = np.zeros(len(sounding))
        mags = self._decode_voices(sounding, decoded, bends) * self._scale
        mags[:, : self._lowest_bins] = 0.0
        self._previous_mag[sounding[fresh]] = 0.0  # a new note: no history to continue
        methods = [self.phases[v][self.phase] for v in sounding]
        ratios = 2.0 ** (bends / 12)
        if self.note_range is None:
            f0s, detune, started_at = [None] * len(mags), np.zeros(len(mags)), np.zeros(len(mags))
        else:
            f0s = midi_to_hz(decoded)
            self._advance_detune(sounding, fresh, f0s, ratios)
            detune, started_at = self._detune[sounding], self._started_at[sounding]
        if self.phase == "harmonic":
            bent = [f0 * r for f0, r in zip(f0s, ratios, strict=True)]
            shaped = zip(methods, mags, bent, strict=True)
            residual = self._controls.residual
            mags = np.stack([method.shape(mag, f0, residual) for method, mag, f0 in shaped])
        glides = [{"ratio": r, "detune": d, "started_at": a} if self.phase == "harmonic" else {}
                  for r, d, a in zip(ratios, detune, started_at, strict=True)]  # fmt: skip
        phases = np.stack([
            method(mag, self._previous_mag[v], self._previous_phase[v], f0=f0, hop=self.hops, **g)
            for method, mag, v, f0, g in zip(methods, mags, sounding, f0s, glides, strict=True)
        ])  # fmt: skip
        self._previous_mag[sounding], self._previous_phase[sounding] = mags, phases
        weighted = amplitudes.astype(np.float32)[:, None] * mags
        self.last_magnitude = weighted.sum(axis=0)
        angle = (phases + self._frame_phase).astype(np.float32)  # cos, sin: 20x faster than exp
        real, imag = (weighted * np.cos(angle)).sum(axis=0), (weighted * np.sin(angle)).sum(axis=0)
        return real + 1j * imag

    def next_hop(self) -> np.ndarray:
        """The next `hop_length` output samples [hop_length] float32."""
        started = time.perf_counter()
        controls = self._controls
        self._latent += self._alpha * (self._latent_targets() - self._latent)
        bend = self.bend_now()
        sounding, pitches, amplitudes, fresh, moved = self.voices.step()
        self.sounding = len(sounding)
        if len(sounding):
            spectrum = self._spectrum(sounding, pitches, amplitudes, fresh, moved, bend)
            frame = np.fft.irfft(spectrum, n=self.n_fft)
            self._ola += (frame * self.window / self._ola_norm).astype(np.float32)
        else:
            self.last_magnitude = np.zeros_like(self.last_magnitude)
        out = self._ola[: self.hop_length].copy()
        self._ola[: -self.hop_length] = self._ola[self.hop_length :]
        self._ola[-self.hop_length :] = 0.0
        out *= self._ramp(self._gain, controls.gain)  # gain glides over one hop
        self._gain = controls.gain
        out = self.limiter(out)
        self.last_peak = float(np.max(np.abs(out)))
        self.hop_seconds[self.hops % TIMING_WINDOW] = time.perf_counter() - started
        self.hops += 1
        return out

    def _latent_targets(self) -> np.ndarray:
        """[voices, d] where each voice's latent point is going: its own, else the channel's."""
        channel = np.asarray(self._controls.latent, np.float32)
        return np.where(np.isnan(self._own), channel, self._own)

    def decoded_pitches(self, pitches) -> np.ndarray:
        """The pitches the decoder is conditioned on: as played, or for a note model moved
        by octaves into its trained range."""
        if self.note_range is None:
            return np.asarray(pitches)
        return fold_into_range(pitches, *self.note_range)

    def is_silent(self) -> bool:
        """Whether nothing sounds or rings on: no voice gated or fading, the overlap-add empty."""
        voices = self.voices
        return not (voices.gated.any() or voices.envelope.any() or self._ola.any())

    def tail_seconds(self) -> float:
        """How long the sound lasts after the last note's release: release + frame overlap."""
        return RELEASE_SECONDS + self.n_fft / self.sample_rate

    def render(self, seconds: float, *, progress: bool = False) -> np.ndarray:
        """`seconds` of audio [round(seconds * sample_rate)] with the current controls; with
        `progress`, a bar once the render has taken 2 s."""
        n = round(seconds * self.sample_rate)
        steps = progress_bar(range(-(-n // self.hop_length)), desc="render", unit="hop",
                             show=progress, delay=2.0)  # fmt: skip
        hops = [self.next_hop() for _ in steps]
        return np.concatenate(hops)[:n] if hops else np.zeros(0, np.float32)

    def timing(self) -> dict:
        """Median and 99th percentile of recent per-hop compute times, in milliseconds."""
        recent = self.hop_seconds[: min(self.hops, TIMING_WINDOW)]
        if not len(recent):
            return {"median_ms": 0.0, "p99_ms": 0.0}
        return {
            "median_ms": 1e3 * float(np.median(recent)),
            "p99_ms": 1e3 * float(np.percentile(recent, 99)),
        }
