policy p
per sample:
    flip_lr with probability 2
