policy café
per sample:
    flip_lr
