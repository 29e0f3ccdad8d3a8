policy p
state s: float in [1, 0] = 0
per sample:
    flip_lr
