policy p
state level: int in [0, 10] = 0
every epoch:
    level = clip(level + ٣, 0, 10)
per sample:
    flip_lr
