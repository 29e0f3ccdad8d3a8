policy autoaugment "AutoAugment's CIFAR-10 policy (Cubuk et al., CVPR 2019): one of 25 sub-policies per image"

# Each image draws one sub-policy, uniformly, and runs its two ops in turn, each with its
# own probability and magnitude, as the paper's code (and DODA's) does before its per-class
# ops. AutoAugment's magnitude levels 0-9 become autoda magnitudes: shear, rotate, color,
# contrast, brightness and sharpness m / 9 (the same angle, shear and factor); posterize
# and solarize the same bits and threshold. Translation is capped: AutoAugment shifts up to
# 150/331 of the side (14.5 of 32 pixels at level 9), autoda's translate at most 0.3 (9.6
# pixels), so levels 6-9 all shift 0.3. Rotation takes a random sign here; the paper's
# code rotates one way. docs/fidelity.md lists the differences.
per sample:
    one of [
        [invert with probability 0.1, contrast(0.6667) with probability 0.2],
        [rotate(0.2222) with probability 0.7, translate_x(1) with probability 0.3],
        [sharpness(0.1111) with probability 0.8, sharpness(0.3333) with probability 0.9],
        [shear_y(0.8889) with probability 0.5, translate_y(1) with probability 0.7],
        [autocontrast with probability 0.5, equalize with probability 0.9],
        [shear_y(0.7778) with probability 0.2, posterize(0.75) with probability 0.3],
        [color(0.3333) with probability 0.4, brightness(0.7778) with probability 0.6],
        [sharpness(1) with probability 0.3, brightness(1) with probability 0.7],
        [equalize with probability 0.6, equalize with probability 0.5],
        [contrast(0.7778) with probability 0.6, sharpness(0.5556) with probability 0.6],
        [color(0.7778) with probability 0.7, translate_x(1) with probability 0.5],
        [equalize with probability 0.3, autocontrast with probability 0.4],
        [translate_y(0.5035) with probability 0.4, sharpness(0.6667) with probability 0.2],
        [brightness(0.6667) with probability 0.9, color(0.8889) with probability 0.2],
        [solarize(0.2192) with probability 0.5, invert with probability 0],
        [equalize with probability 0.2, autocontrast with probability 0.6],
        [equalize with probability 0.2, equalize with probability 0.6],
        [color(1) with probability 0.9, equalize with probability 0.6],
        [autocontrast with probability 0.8, solarize(0.8885) with probability 0.2],
        [brightness(0.3333) with probability 0.1, color(0) with probability 0.7],
        [solarize(0.5538) with probability 0.4, autocontrast with probability 0.9],
        [translate_y(1) with probability 0.9, translate_y(1) with probability 0.7],
        [autocontrast with probability 0.9, solarize(0.3307) with probability 0.8],
        [equalize with probability 0.8, invert with probability 0.1],
        [translate_y(1) with probability 0.7, autocontrast with probability 0.9],
    ]
