policy p
state level: int in [0, 10] = 0
every epoch:
    lvl = clip(level + 1, 0, 10)
per sample:
    flip_lr
