policy p
per sample:
    one of [[invert with probability train_acc + 1]]
