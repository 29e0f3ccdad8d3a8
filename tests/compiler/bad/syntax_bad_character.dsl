policy p
state on: bool = false
every epoch:
    on = train_acc > 0.5 && rank > 0.5
per sample:
    flip_lr
