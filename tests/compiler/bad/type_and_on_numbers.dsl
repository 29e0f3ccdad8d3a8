policy p
state on: bool = false
every epoch:
    on = train_acc and rank
per sample:
    flip_lr
