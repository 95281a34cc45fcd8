"""Evaluations that play a model through the synth and judge it as a listener would (pYIN on
rendered audio): a layer above the synth, below the commands."""
