policy p
per sample:
    apply 5 of [rotate, shear_x]
        magnitude 0.3
