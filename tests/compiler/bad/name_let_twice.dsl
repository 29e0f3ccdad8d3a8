policy p
state level: int in [0, 10] = 0
every epoch:
    let up = train_acc > 0.6
    let up = train_acc > 0.7
    level = clip(level + where(up, 1, -1), 0, 10)
per sample:
    flip_lr
