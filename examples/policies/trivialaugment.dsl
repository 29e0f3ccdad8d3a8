policy trivialaugment "TrivialAugment (Mueller and Hutter, 2021): one op, a uniform random magnitude"

per sample:
    apply 1 of [identity, autocontrast, equalize, rotate, solarize, color, posterize, contrast,
                brightness, sharpness, shear_x, shear_y, translate_x, translate_y]
        magnitude uniform(0, 1)
