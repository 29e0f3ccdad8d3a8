policy p
state on: bool = True
per sample:
    flip_lr
