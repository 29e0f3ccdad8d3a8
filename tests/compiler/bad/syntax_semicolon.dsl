policy p
state level: int in [0, 10] = 0
every epoch:
    level = 1; level = 2
per sample:
    flip_lr
