policy p
state level: int in [0, 10] = 0
every epoch:
    level = level +
per sample:
    flip_lr
