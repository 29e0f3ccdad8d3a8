policy p
state w: float per op in [0, 1] = 0
state s: float in [0, 1] = 0
every epoch:
    s = w
per sample:
    apply 1 of [rotate, shear_x]
        magnitude 0.3
