policy p 'flips half the images'
per sample:
    flip_lr
