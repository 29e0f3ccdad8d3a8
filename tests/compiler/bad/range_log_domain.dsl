policy p
state s: float in [0, 10] = 0
every epoch:
    s = clip(-log(train_acc), 0, 10)
per sample:
    flip_lr
