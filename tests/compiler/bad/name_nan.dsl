policy p
state s: float in [0, 1] = 0
every epoch:
    s = where(train_loss > 0, nan, 0)
per sample:
    flip_lr
