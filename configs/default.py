"""The paper's recommended model: one-octave corpus, 2-neuron sigmoid bottleneck, chroma
augmentation and chroma skip connection (Table II, "Sigmoid / Yes").

    python -m timbre_jax.train --config configs/default.py --workdir runs/default

Argument `smoke` (`--config configs/default.py:smoke`) gives a 2-epoch run on the `tiny`
corpus for tests: `make` it with `python -m timbre_jax.corpus render --preset tiny ...`.
"""

import ml_collections

from timbre_jax.errors import ParameterError


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.corpus = "data/corpora/one_octave"  # corpus folder (python -m timbre_jax.corpus build)
    config.seed = 0  # seeds initialisation, shuffling and VAE sampling

    config.model = ml_collections.ConfigDict()
    config.model.kind = "ae"  # "ae" (autoencoder) or "vae" (beta-VAE, paper section VI)
    config.model.latent_dim = 2  # bottleneck neurons (2, 3 or 8 in the paper)
    config.model.bottleneck = "sigmoid"  # bottleneck activation: "sigmoid" or "leaky_relu"
    config.model.chroma_skip = True  # append the one-hot chroma to the decoder's input
    config.model.augment = "chroma"  # encoder input extra: "none", "diff" or "chroma"
    # what the chroma inputs hold: "chroma" (the paper's one-hot pitch class) or "note" (the
    # pitch class and the octave of each frame's labelled note; unlabelled frames left out)
    config.model.conditioning = "chroma"
    # beyond the paper: append the conditioning vector to every decoder layer's input, not
    # the first alone (needs chroma_skip)
    config.model.condition_every_layer = False
    config.model.beta = 1.0  # VAE only: weight of the KL term
    config.model.beta_warmup_epochs = 10  # VAE only: beta rises linearly from 0 over these

    config.train = ml_collections.ConfigDict()
    config.train.epochs = 300  # passes over the training split (paper: 300)
    config.train.batch_size = 200  # frames per step, a multiple of the device count
    config.train.learning_rate = 5e-4  # Adam step size (paper: 5e-4)
    config.train.l2_weight = 1e-7  # coupled L2: weight of sum(kernel**2) in the loss (paper: 1e-7)
    config.train.eval_batch_size = 2000  # frames per validation/test batch
    # beyond the paper (training/pitch_loss.py): weight of the template cross-entropy of
    # decodes at random pad points (0: off, the paper's objective; sigmoid bottleneck only)
    config.train.pitch_weight = 0.0
    config.train.pitch_batch = 200  # pad points decoded per step for the pitch term
    config.train.pitch_temperature = 0.05  # softmax temperature over the template scores
    config.train.pitch_octaves_only = False  # only the pressed class's octaves compete

    if arg == "smoke":
        config.corpus = "data/corpora/tiny"
        config.train.epochs = 2
        config.train.batch_size = 40
    elif arg:
        raise ParameterError(f"configs/default.py takes no argument or 'smoke', got {arg!r}")
    config.lock()
    return config
