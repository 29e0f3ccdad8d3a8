policy p
state w: float per op in [1, 10] = 1
per sample:
    apply 1 of [rotate, shear_x]
        magnitude 0.3
        weight where(sample_one(w), 1, 0)
