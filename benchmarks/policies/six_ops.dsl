policy six_ops "the throughput benchmark's reference: six ops, two per sample, RandAugment-like"

per sample:
    apply 2 of [rotate, shear_x, translate_y, brightness, contrast, equalize]
        magnitude 0.3
