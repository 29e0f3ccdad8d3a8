policy p
state level: int in [0, 10] = 0
every epoch:
    level = level + (1 if train_acc > 0.6 else -1)
per sample:
    flip_lr
