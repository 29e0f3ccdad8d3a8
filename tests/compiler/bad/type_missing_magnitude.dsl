policy p
per sample:
    apply 2 of [rotate, shear_x]
