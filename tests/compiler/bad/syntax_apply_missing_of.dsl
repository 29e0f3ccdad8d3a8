policy p
per sample:
    apply 2 [rotate, shear_x]
        magnitude 0.3
