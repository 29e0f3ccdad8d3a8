policy p
state level: int in [0, 10] = 0
every epoch:
    level = level * 0.5
per sample:
    flip_lr
