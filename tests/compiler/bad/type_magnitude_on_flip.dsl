policy p
per sample:
    flip_lr(0.5)
