"""Test helpers: the real config files with fields overridden, models in memory at their
initial parameters, CPU-pinned processes, and what a live stream may be allowed on a shared
host."""

import os

import numpy as np

from configs import default
from timbre_jax.dsp.spectral import hann_window
from timbre_jax.synth import audio_out

WINDOW = hann_window()


def initialised_run(corpus, folder=None, **overrides):
    """A `Run` in memory: the smoke config's model (with `smoke`'s overrides) at its initial
    parameters, for refusals and plots that need no training. `folder`: where analyses that
    write beside a run write (None: nowhere)."""
    import jax
    import jax.numpy as jnp

    from timbre_jax.corpus.store import load_metadata
    from timbre_jax.model.conditioning import condition_size
    from timbre_jax.model.run import Run
    from timbre_jax.training.loop import N_BINS, build_model, checkpoint_meta

    config = smoke(corpus, **overrides)
    model = build_model(config)
    example = [jnp.zeros((1, N_BINS)), jnp.zeros((1, condition_size(model.conditioning))),
               jnp.zeros((1, N_BINS))]  # fmt: skip
    params = model.init(jax.random.key(config.seed), *example)["params"]
    return Run(folder, model, params, checkpoint_meta(config, load_metadata(corpus)))


def cpu_devices(count: int) -> dict:
    """The environment of a process that sees exactly `count` CPU devices, whatever the host
    has: runs compared across processes are pinned to them so that their results match."""
    flags = f"--xla_force_host_platform_device_count={count}"
    return os.environ | {"JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags}


def gaps_to_full_lead() -> int:
    """Ring underruns it takes the output's lead to grow from its default to its cap (4): a
    live test allows that many, each a host stall longer than the lead of the time; one more
    is a stall beyond the cap (60 ms) or a synth that does not keep up."""
    lead, gaps = audio_out.LEAD_SECONDS, 0
    while lead < audio_out.MAX_LEAD_SECONDS:
        lead, gaps = lead * audio_out.LEAD_GROWTH, gaps + 1
    return gaps


def smoke(corpus, **overrides):
    """configs/default.py:smoke on `corpus`; keyword `a__b=v` sets field a.b."""
    config = default.get_config("smoke")
    for dotted, value in {"corpus": str(corpus), **overrides}.items():
        node = config
        *parents, leaf = dotted.split("__")
        for name in parents:
            node = node[name]
        node[leaf] = value
    return config


def overlap_add(mag: np.ndarray, method, **kwargs) -> np.ndarray:
    """The signal [(T - 1) * 1024] float32 of frames `mag` [T, 2049] with phases from a phase
    `method` (called with `kwargs` and the frame's index as `hop`), overlap-added as the
    engine does."""
    previous_mag, previous_phase = np.zeros(2049), np.zeros(2049)
    out = np.zeros(len(mag) * 1024 + 4096)
    for k, m in enumerate(mag):
        phase = method(m, previous_mag, previous_phase, hop=k, **kwargs)
        frame = np.fft.irfft(m * np.exp(1j * (phase + np.pi * np.arange(2049))), n=4096)
        out[k * 1024 : k * 1024 + 4096] += frame * WINDOW / 1.5
        previous_mag, previous_phase = m, phase
    return out[2048 : 2048 + (len(mag) - 1) * 1024].astype(np.float32)


def assert_drawn(path, *, min_width: int = 300, min_height: int = 200, min_colours: int = 20):
    """Asserts that `path` is a PNG of at least that size with something drawn on it: a blank
    or failed figure has a handful of colours, a plot with data and text many more."""
    import matplotlib.image

    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= min_height, (path, image.shape)
    colours = np.unique(image.reshape(-1, image.shape[-1]), axis=0)
    assert len(colours) >= min_colours, f"{path}: {len(colours)} colours, nothing drawn?"
