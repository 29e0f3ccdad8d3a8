policy p
state level: int in [0, 10] = 0
per sample:
    apply 1 of [rotate, shear_x]
        magnitude level / 5
