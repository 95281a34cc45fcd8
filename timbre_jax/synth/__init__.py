"""The instrument: a streaming decoder engine (no Qt), phase reconstruction, a ring buffer,
audio output through sounddevice, MIDI input and the PyQtGraph panel."""
