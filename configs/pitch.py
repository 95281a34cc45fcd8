"""Every pad point plays its note (issue 16): the paper's objective against the additions
beyond it, on note-conditioned 2-D sigmoid models with chroma augmentation and skip.

    python -m timbre_jax.train --config configs/pitch.py:violin_both --workdir runs/violin_both

Rows CORPUS_VARIANT, CORPUS one of violin, keys; VARIANT one of
- paper: reconstruction + L2 only (as configs/notes.py's note rows);
- pitch: + the template cross-entropy of decodes at random pad points (training/pitch_loss.py);
- light, mild, faint, trace: the same term at 1/5, 1/10, 1/100 and 1/10^4 of the weight (it
  cost the violin 1.31x test MSE and the keys 0.71x timbre variety at PITCH_WEIGHT, 10 epochs:
  results/pitch_e10.md; the lighter rows: results/pitch_e10_epyc.md);
- deep: the note appended to every decoder layer's input;
- both: pitch and deep together;
- octave, octave_soft, octave_softer: mild's weight, 0.3 and 0.2 of it, with only the
  pressed class's octaves competing in the softmax (train.pitch_octaves_only): at 50 epochs
  mild kept the keys' reconstruction (1.02x) but not their timbre variety (0.74x).
The weight: the cross-entropy's gradient per bin is about 10^7 times the MSE's (a mean over
2049 bins of squared errors near 4e-4), and Adam follows whichever dominates: at weights 1 to
1e-3 (with or without a warm-up) the violin's MSE stuck near 1.4e-3 after 1-3 epochs against
3.7e-4 without the term; at 1e-4 and 1e-5 it was 4.3e-4 after 2 epochs, with the
cross-entropy at 0.001-0.003. At 10 epochs (results/pitch_e10_epyc.md) the violin pays the same
1.3-1.4x test MSE from 1e-4 down to 1e-6, and 1.05x at 1e-8 (trace), keeping most of the pitch
gain: the gradients only balance near 1e-8.

`launch/pitch_experiment.py` trains them, sweeps their meshes, audits them by pYIN and writes
results/pitch.md.
"""

import ml_collections

from configs import default
from timbre_jax.training.config import check_row

CORPORA = {"violin": "data/corpora/violin", "keys": "data/corpora/keys"}
PITCH_WEIGHT = 1e-4  # the template cross-entropy's weight: see the note below
VARIANTS = {  # (train.pitch_weight, model.condition_every_layer, train.pitch_octaves_only)
    "paper": (0.0, False, False),
    "pitch": (PITCH_WEIGHT, False, False),
    "light": (PITCH_WEIGHT / 5, False, False),
    "mild": (PITCH_WEIGHT / 10, False, False),
    "faint": (PITCH_WEIGHT / 100, False, False),
    "trace": (PITCH_WEIGHT / 10**4, False, False),
    "deep": (0.0, True, False),
    "both": (PITCH_WEIGHT, True, False),
    "octave": (PITCH_WEIGHT / 10, False, True),
    "octave_soft": (PITCH_WEIGHT * 0.03, False, True),
    "octave_softer": (PITCH_WEIGHT * 0.02, False, True),
}
ROWS = [f"{corpus}_{variant}" for corpus in CORPORA for variant in VARIANTS]


def get_config(row: str | None = None) -> ml_collections.ConfigDict:
    check_row("configs/pitch.py", row, ROWS)
    corpus, variant = row.split("_", 1)
    config = default.get_config()
    config.corpus = CORPORA[corpus]
    config.model.conditioning = "note"
    weight, every_layer, octaves_only = VARIANTS[variant]
    config.train.pitch_weight, config.model.condition_every_layer = weight, every_layer
    config.train.pitch_octaves_only = octaves_only
    return config
