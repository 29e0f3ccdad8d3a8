policy p
per sample:
    apply 1 of [rotate, shear_x]
        magnitude 0.3
    apply 1 of [color, contrast]
        magnitude 0.3
