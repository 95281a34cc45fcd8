"""The latent analysis of trained runs: embeddings and the playable span, mesh sweeps
(Table V), figures, and the float16 export of a run as a shipped model."""
