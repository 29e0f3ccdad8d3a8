policy p
state level: int in [0, 10] = 0
every epoch:
    level = where(level = 10, 0, level)
per sample:
    flip_lr
