per sample:
    flip_lr
