policy p
per sample:
    apply 1 of [rotat, shear_x]
        magnitude 0.3
