policy p
state level: int in [0, 10] = 0
state level: float in [0, 1] = 0
per sample:
    flip_lr
