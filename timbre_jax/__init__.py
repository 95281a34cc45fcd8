"""timbre_jax: chroma-conditioned autoencoders of STFT frames, after Colonel & Keene."""

__version__ = "0.1.0"
