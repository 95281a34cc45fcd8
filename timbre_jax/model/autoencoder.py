"""Flax modules: the paper's autoencoder (Fig. 1) and its beta-VAE variant.

Encoder: the 2049-bin frame plus its augmentation (none, the 2049-bin first-order
difference, or the 12-value one-hot chroma) -> dense layers 1024, 512, ..., 16 with
LeakyReLU(0.1) -> `latent_dim` bottleneck (sigmoid or LeakyReLU). Decoder: the latent vector,
with the one-hot chroma appended when `chroma_skip` -> 16, 32, ..., 1024 LeakyReLU -> 2049 ReLU.
With `condition_every_layer` (beyond the paper) the chroma is appended to the input of every
decoder layer, not the first alone, so that the note reaches the output layers directly.
The beta-VAE's encoder gives a mean and a log-variance instead of a bottleneck activation.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from timbre_jax.errors import ParameterError
from timbre_jax.model.conditioning import check_conditioning

HIDDEN_WIDTHS = (1024, 512, 256, 128, 64, 32, 16)
N_BINS = 2049
LEAKY_SLOPE = 0.1
KINDS = ("ae", "vae")
BOTTLENECKS = ("sigmoid", "leaky_relu")
AUGMENTS = ("none", "diff", "chroma")


def leaky_relu(x):
    return nn.leaky_relu(x, negative_slope=LEAKY_SLOPE)


def dense(width: int, name: str | None = None) -> nn.Dense:
    """A dense layer initialised as Keras's (Glorot-uniform kernel, zero bias)."""
    return nn.Dense(width, kernel_init=nn.initializers.glorot_uniform(), name=name)


def validate_model_fields(*, kind: str, latent_dim: int, bottleneck: str, augment: str,
                          conditioning: str) -> None:  # fmt: skip
    """Raises `ParameterError` naming the first invalid model field."""
    check_conditioning(conditioning)
    if kind not in KINDS:
        raise ParameterError(f"model.kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ParameterError(f"model.latent_dim must be a positive integer, got {latent_dim!r}")
    if bottleneck not in BOTTLENECKS:
        raise ParameterError(f"model.bottleneck must be one of {BOTTLENECKS}, got {bottleneck!r}")
    if augment not in AUGMENTS:
        raise ParameterError(f"model.augment must be one of {AUGMENTS}, got {augment!r}")


class Encoder(nn.Module):
    """[batch, n_inputs] -> latent [batch, latent_dim], or (mean, log_variance) if variational."""

    latent_dim: int
    bottleneck: str = "sigmoid"
    variational: bool = False
    hidden_widths: Sequence[int] = HIDDEN_WIDTHS

    @nn.compact
    def __call__(self, x):
        for width in self.hidden_widths:
            x = leaky_relu(dense(width)(x))
        if self.variational:
            return dense(self.latent_dim, "mean")(x), dense(self.latent_dim, "log_variance")(x)
        z = dense(self.latent_dim, "bottleneck")(x)
        return nn.sigmoid(z) if self.bottleneck == "sigmoid" else leaky_relu(z)


class Decoder(nn.Module):
    """Latent [batch, latent_dim] (+ chroma [batch, 12]) -> frames [batch, n_bins] >= 0.

    The chroma is appended to the first layer's input, or to every layer's with
    `condition_every_layer`."""

    n_bins: int = N_BINS
    hidden_widths: Sequence[int] = HIDDEN_WIDTHS
    condition_every_layer: bool = False

    @nn.compact
    def __call__(self, z, chroma=None):
        x = z
        for i, width in enumerate(reversed(self.hidden_widths)):
            if chroma is not None and (i == 0 or self.condition_every_layer):
                x = jnp.concatenate([x, chroma], axis=-1)
            x = leaky_relu(dense(width)(x))
        if chroma is not None and self.condition_every_layer:
            x = jnp.concatenate([x, chroma], axis=-1)
        return nn.relu(dense(self.n_bins, "output")(x))


class Autoencoder(nn.Module):
    """The paper's autoencoder; `kind="vae"` gives the beta-VAE.

    Call with frames [batch, n_bins], chroma [batch, 12] one-hot (or, for
    `conditioning="note"`, [batch, 23]: see model/conditioning.py) and diff [batch, n_bins]
    (used only when `augment="diff"`). Returns (reconstruction, latent, kl_per_dim), where
    kl_per_dim [batch, latent_dim] is zero for the plain autoencoder. A VAE samples its
    latent with the "sample" rng when one is given and uses the mean otherwise.
    """

    latent_dim: int = 2
    bottleneck: str = "sigmoid"
    chroma_skip: bool = True
    augment: str = "chroma"
    kind: str = "ae"
    n_bins: int = N_BINS
    conditioning: str = "chroma"  # what `chroma` holds: see model/conditioning.py
    condition_every_layer: bool = False  # the chroma into every decoder layer (needs the skip)
    hidden_widths: Sequence[int] = HIDDEN_WIDTHS

    def setup(self):
        self.encoder = Encoder(
            self.latent_dim, self.bottleneck, self.kind == "vae", self.hidden_widths
        )
        self.decoder = Decoder(self.n_bins, self.hidden_widths, self.condition_every_layer)

    def encoder_input(self, frames, chroma, diff):
        if self.augment == "chroma":
            return jnp.concatenate([frames, chroma], axis=-1)
        if self.augment == "diff":
            return jnp.concatenate([frames, diff], axis=-1)
        return frames

    def encode(self, frames, chroma, diff=None):
        """Latent point of each frame: [batch, latent_dim] (the mean for a VAE)."""
        out = self.encoder(self.encoder_input(frames, chroma, diff))
        return out[0] if self.kind == "vae" else out

    def decode(self, z, chroma):
        """Frames [batch, n_bins] from latents [batch, latent_dim] and one-hot chroma."""
        return self.decoder(z, chroma if self.chroma_skip else None)

    def latent(self, frames, chroma, diff=None):
        """(z, kl_per_dim), both [batch, latent_dim]: what `__call__` decodes (a VAE's sample)."""
        out = self.encoder(self.encoder_input(frames, chroma, diff))
        if self.kind != "vae":
            return out, jnp.zeros_like(out)
        mean, log_var = out
        kl = 0.5 * (jnp.square(mean) + jnp.exp(log_var) - 1.0 - log_var)
        z = mean
        if self.has_rng("sample"):
            noise = jax.random.normal(self.make_rng("sample"), mean.shape, mean.dtype)
            z = mean + jnp.exp(0.5 * log_var) * noise
        return z, kl

    def __call__(self, frames, chroma, diff=None):
        z, kl = self.latent(frames, chroma, diff)
        return self.decode(z, chroma), z, kl
