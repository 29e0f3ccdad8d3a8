policy p
per sample:
    cutout(rank > 0.5)
