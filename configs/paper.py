"""Every model of the paper's Tables I-IV (and the 8-neuron models of Table V), one per row.

    python -m timbre_jax.train --config configs/paper.py:table2_sigmoid_skip --workdir runs/t2ss

The argument is the row name below; the comment gives the paper's test MSE (and training
time on a Quadro P2000). All rows use the paper's protocol: 300 epochs, batch 200, Adam 5e-4,
L2 1e-7. Corpora are built by `make corpora` into data/corpora/.
"""

import ml_collections

from configs import default
from timbre_jax.training.config import check_row

ONE_OCTAVE, FIVE_OCTAVE, VIOLIN = (
    "data/corpora/one_octave",
    "data/corpora/five_octave",
    "data/corpora/violin",
)

# row: (corpus, latent_dim, bottleneck, chroma_skip, augment); the comment is the paper's
# test MSE and training time, also in PAPER_MSE below.
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

# The paper's test-set MSE and training minutes (Quadro P2000), per row of Tables I-IV.
PAPER_MSE = {
    "table1_no_append": (3.185e-4, 35), "table1_diff": (3.001e-4, 44),
    "table1_chroma": (2.920e-4, 37),
    "table2_lrelu": (3.516e-4, 8), "table2_lrelu_skip": (3.598e-4, 8),
    "table2_sigmoid": (3.358e-4, 8), "table2_sigmoid_skip": (3.472e-4, 8),
    "table3_lrelu": (7.731e-4, 41), "table3_lrelu_skip": (6.478e-4, 58),
    "table3_sigmoid": (8.900e-4, 43), "table3_sigmoid_skip": (6.388e-4, 43),
    "table4_one_octave": (3.228e-4, 8), "table4_one_octave_skip": (3.055e-4, 8),
    "table4_violin": (8.545e-4, 44), "table4_violin_skip": (5.763e-4, 45),
}  # fmt: skip

# Table V: per model row, its name in the paper, mesh length and accuracies C ... B as text
# ("-" where the paper prints a dash: a class absent from the corpus).
PAPER_TABLE5 = {
    "table2_sigmoid_skip": ("2D One Octave", 350, ".896 - .941 - .981 .884 - .908 - .863 - .937"),
    "table4_one_octave_skip": ("3D One Octave", 50, ".827 - .857 - .847 .953 - .851 - .904 - .933"),
    "table5_one_octave_8d": ("8D One Octave", 5, ".741 - .650 - .949 .526 - .605 - .834 - .660"),
    "table3_sigmoid_skip": (
        "2D Violin",
        350,
        ".980 .840 .941 .902 .999 .846 .905 .864 .892 .992 .884 .984",
    ),
    "table4_violin_skip": (
        "3D Violin",
        50,
        ".942 .629 .999 .692 .999 .997 .659 .980 .999 .999 .885 .977",
    ),
    "table5_violin_8d": (
        "8D Violin",
        5,
        ".837 .833 .950 .844 .814 .805 .956 .782 .820 .844 .805 .920",
    ),
}


def get_config(row: str | None = None) -> ml_collections.ConfigDict:
    check_row("configs/paper.py", row, ROWS)
    corpus, latent_dim, bottleneck, chroma_skip, augment = ROWS[row]
    config = default.get_config()
    config.corpus = corpus
    config.model.latent_dim = latent_dim
    config.model.bottleneck = bottleneck
    config.model.chroma_skip = chroma_skip
    config.model.augment = augment
    return config
