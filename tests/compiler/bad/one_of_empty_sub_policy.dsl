policy p
per sample:
    one of [[invert], []]
