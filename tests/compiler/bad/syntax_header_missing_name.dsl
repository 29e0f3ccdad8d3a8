policy
per sample:
    flip_lr
