"""Signal processing on the host and in `jnp`: audio files, STFT and its inverse, chroma."""
