policy p
every epoch:
    let x = 1 + ３
per sample:
    flip_lr
