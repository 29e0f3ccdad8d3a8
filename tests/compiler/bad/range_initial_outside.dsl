policy p
state level: int in [0, 10] = 12
per sample:
    flip_lr
