policy p
every epoch:
    train_acc = 0
per sample:
    flip_lr
