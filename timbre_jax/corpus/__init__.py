"""Corpora of normalised STFT frames with one-hot chroma, from rendered or recorded audio.

`presets` describes what to play, `render` plays it on a SoundFont, `build` turns a folder of
audio into a corpus on disk, `report` summarises one; `python -m timbre_jax.corpus` is the CLI.
"""
