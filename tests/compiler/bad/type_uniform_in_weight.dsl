policy p
per sample:
    apply 1 of [rotate, shear_x]
        magnitude 0.3
        weight uniform(0, 1)
