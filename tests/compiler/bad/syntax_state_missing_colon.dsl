policy p
state level int in [0, 10] = 0
per sample:
    flip_lr
