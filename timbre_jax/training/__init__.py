"""Models and their training: Flax modules, config files, data on devices, the training loop,
Orbax checkpoints, device meshes, run files, and `Run`, a trained model loaded once."""
