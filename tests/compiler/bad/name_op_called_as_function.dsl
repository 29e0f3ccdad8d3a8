policy p
state m: float in [0, 1] = 0
every epoch:
    m = rotate(0.5)
per sample:
    flip_lr
