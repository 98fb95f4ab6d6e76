"""The engine: the training step (``step``), the loop around it (``trainer``), and what keeps a
run safe and reproducible (checkpoints, RNG state, EMA, torchrun, the run folder)."""
