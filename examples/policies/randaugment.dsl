policy randaugment "RandAugment (Cubuk et al., 2020): two ops drawn uniformly, one fixed magnitude"

# torchvision's defaults: N = 2 ops, magnitude 9 of 30 bins. Every class is treated alike.
per sample:
    apply 2 of [identity, autocontrast, equalize, rotate, solarize, color, posterize, contrast,
                brightness, sharpness, shear_x, shear_y, translate_x, translate_y]
        magnitude 0.3
