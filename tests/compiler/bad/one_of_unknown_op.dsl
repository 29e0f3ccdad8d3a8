policy p
per sample:
    one of [[rotate(0.3), invert], [rotat(0.5)]]
