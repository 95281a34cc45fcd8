"""Test infrastructure shared by the tests and the launch scripts that stream through JACK
(`launch/soak.py`, `bench_synth.py`, `callback_gaps.py`): a JACK server on its dummy driver,
one sample-accurate recorder, a stamped capture stream, a virtual MIDI keyboard, and a
headless synth in a child process. Not part of the package: a launch script puts the
repository's root on its path to import it."""
