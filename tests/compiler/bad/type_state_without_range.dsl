policy p
state strength: float = 0.5
per sample:
    flip_lr
