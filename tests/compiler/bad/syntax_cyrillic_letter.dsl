policy p
state s: float in [0, 1] = 0
every epoch:
    s = clip(trаin_acc, 0, 1)
per sample:
    flip_lr
