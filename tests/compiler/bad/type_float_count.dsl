policy p
per sample:
    apply 1.5 of [rotate, shear_x]
        magnitude 0.3
