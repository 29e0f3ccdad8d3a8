policy p
state w: float per op in [1, 10] = 1
per sample:
    flip_lr
