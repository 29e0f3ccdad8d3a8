policy p
state level: int in [0, 10] = 0
every epoch:
    level = 1 if train_acc > 0.5
per sample:
    flip_lr
