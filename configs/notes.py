"""Chroma against note conditioning (issue 12): the paper's recommended 2-D sigmoid bottleneck
with chroma augmentation and skip, on the five-octave and violin corpora, conditioned on the
pitch class (the paper's) or on the note (pitch class and octave).

    python -m timbre_jax.train --config configs/notes.py:violin_note --workdir runs/violin_note

Rows: five_octave_chroma, five_octave_note, violin_chroma, violin_note. All use the paper's
protocol (300 epochs, batch 200, Adam 5e-4, L2 1e-7); `launch/notes_experiment.py` trains
them, sweeps their meshes and writes results/notes.md.
"""

import ml_collections

from configs import default
from timbre_jax.training.config import check_row

CORPORA = {"five_octave": "data/corpora/five_octave", "violin": "data/corpora/violin"}
ROWS = [f"{corpus}_{conditioning}" for corpus in CORPORA for conditioning in ("chroma", "note")]


def get_config(row: str | None = None) -> ml_collections.ConfigDict:
    check_row("configs/notes.py", row, ROWS)
    corpus, conditioning = row.rsplit("_", 1)
    config = default.get_config()
    config.corpus = CORPORA[corpus]
    config.model.conditioning = conditioning
    return config
