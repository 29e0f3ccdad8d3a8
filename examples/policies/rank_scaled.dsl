policy rank_scaled "stronger and more varied augmentation the rarer the class"

# No state: the head class draws one op at magnitude 0.1, the rarest three at 0.5.
per sample:
    apply 1 + round(2 * rank) of [rotate, shear_x, shear_y, translate_x, translate_y, color,
                                  contrast, brightness, sharpness, posterize, solarize]
        magnitude 0.1 + 0.4 * rank
    cutout(0.5 * rank) with probability 0.5
