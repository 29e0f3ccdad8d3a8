policy p
every epoch:
    let x = rank
    x = 2 * rank
per sample:
    flip_lr
