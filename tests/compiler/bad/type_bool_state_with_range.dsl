policy p
state on: bool in [0, 1] = false
per sample:
    flip_lr
