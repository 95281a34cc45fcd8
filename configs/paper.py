"""Every model of the paper's Tables I-IV (and the 8-neuron models of Table V), one per row.

    python -m timbre_jax.train --config configs/paper.py:table2_sigmoid_skip --workdir runs/t2ss

The argument is the row name below; the comment gives the paper's test MSE (and training
time on a Quadro P2000). All rows use the paper's protocol: 300 epochs, batch 200, Adam 5e-4,
L2 1e-7. Corpora are built by `make corpora` into data/corpora/.
"""

import importlib.util
from pathlib import Path

import ml_collections

_spec = importlib.util.spec_from_file_location("_default", Path(__file__).with_name("default.py"))
default = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(default)

ONE_OCTAVE, FIVE_OCTAVE, VIOLIN = (
    "data/corpora/one_octave",
    "data/corpora/five_octave",
    "data/corpora/violin",
)

# row: (corpus, latent_dim, bottleneck, chroma_skip, augment)
ROWS = {
    # Table I: five-octave corpus, 8 LeakyReLU neurons, input augmentations.
    "table1_no_append": (FIVE_OCTAVE, 8, "leaky_relu", False, "none"),  # 3.185e-4, 35 min
    "table1_diff": (FIVE_OCTAVE, 8, "leaky_relu", False, "diff"),  # 3.001e-4, 44 min
    "table1_chroma": (FIVE_OCTAVE, 8, "leaky_relu", False, "chroma"),  # 2.920e-4, 37 min
    # Table II: one-octave corpus, 2 neurons.
    "table2_lrelu": (ONE_OCTAVE, 2, "leaky_relu", False, "chroma"),  # 3.516e-4, 8 min
    "table2_lrelu_skip": (ONE_OCTAVE, 2, "leaky_relu", True, "chroma"),  # 3.598e-4, 8 min
    "table2_sigmoid": (ONE_OCTAVE, 2, "sigmoid", False, "chroma"),  # 3.358e-4, 8 min
    "table2_sigmoid_skip": (ONE_OCTAVE, 2, "sigmoid", True, "chroma"),  # 3.472e-4, 8 min
    # Table III: violin corpus, 2 neurons.
    "table3_lrelu": (VIOLIN, 2, "leaky_relu", False, "chroma"),  # 7.731e-4, 41 min
    "table3_lrelu_skip": (VIOLIN, 2, "leaky_relu", True, "chroma"),  # 6.478e-4, 58 min
    "table3_sigmoid": (VIOLIN, 2, "sigmoid", False, "chroma"),  # 8.900e-4, 43 min
    "table3_sigmoid_skip": (VIOLIN, 2, "sigmoid", True, "chroma"),  # 6.388e-4, 43 min
    # Table IV: 3 sigmoid neurons.
    "table4_one_octave": (ONE_OCTAVE, 3, "sigmoid", False, "chroma"),  # 3.228e-4, 8 min
    "table4_one_octave_skip": (ONE_OCTAVE, 3, "sigmoid", True, "chroma"),  # 3.055e-4, 8 min
    "table4_violin": (VIOLIN, 3, "sigmoid", False, "chroma"),  # 8.545e-4, 44 min
    "table4_violin_skip": (VIOLIN, 3, "sigmoid", True, "chroma"),  # 5.763e-4, 45 min
    # Table V's 8-neuron sigmoid models with chroma skip (no MSE given in the paper).
    "table5_one_octave_8d": (ONE_OCTAVE, 8, "sigmoid", True, "chroma"),
    "table5_violin_8d": (VIOLIN, 8, "sigmoid", True, "chroma"),
}


def get_config(row: str) -> ml_collections.ConfigDict:
    if row not in ROWS:
        raise ValueError(f"unknown row {row!r}; choose one of {sorted(ROWS)}")
    corpus, latent_dim, bottleneck, chroma_skip, augment = ROWS[row]
    config = default.get_config()
    config.corpus = corpus
    config.model.latent_dim = latent_dim
    config.model.bottleneck = bottleneck
    config.model.chroma_skip = chroma_skip
    config.model.augment = augment
    return config
