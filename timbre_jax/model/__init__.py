"""What every user of a trained model needs: the Flax modules, what they are conditioned on,
Orbax checkpoints, and `Run`/`load_run` (a trained model loaded once), shipped models by name.
Training, the analysis, the synth and the commands import it; it imports no layer above it."""
