policy p
state level: int in [0, 10] = 0
every epoch:
    for c in range(num_classes):
        level = 0
per sample:
    flip_lr
