"""Training configs: `default` (the paper's recommended model), `paper` (a row of each of its
tables) and `notes` (chroma against note conditioning). Each module's `get_config(arg)`
returns a locked `ml_collections.ConfigDict`.

    from configs import paper
    config = paper.get_config("table3_sigmoid_skip")

On the command line: `--config configs/paper.py:table3_sigmoid_skip`.
"""
