policy p
state on: bool = false
every epoch:
    on = not train_acc
per sample:
    flip_lr
