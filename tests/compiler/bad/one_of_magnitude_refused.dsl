policy p
per sample:
    one of [[flip_lr(0.5), invert]]
