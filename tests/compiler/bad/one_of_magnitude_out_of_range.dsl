policy p
per sample:
    one of [
        [rotate(0.3) with probability 0.5],
        [solarize(1.5)],
    ]
