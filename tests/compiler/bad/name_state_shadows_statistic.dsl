policy p
state freq: float in [0, 1] = 0
per sample:
    flip_lr
