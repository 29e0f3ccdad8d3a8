policy p
per sample:
    cutout(1.5)
