"""Learning: the networks and the forest, sampling, training, prediction, weight selection, novelty and
transfer diagnostics, model files."""
