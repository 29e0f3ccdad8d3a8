policy p
per sample:
    apply 1 of [rotate, shear_x, rotate]
        magnitude 0.3
