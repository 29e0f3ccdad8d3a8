policy norm_balance "augment more where the classifier's weight norm lags, the long-tail signature"

# Classes the classifier under-weights (small W_c relative to the largest) get more ops
# and stronger ones; the gap is smoothed over epochs so one noisy epoch does not swing it.
state gap: float in [0, 1] = 0

every epoch:
    let relative = w_norm / max(max(w_norm), 1e-6)
    gap = clip(0.8 * gap + 0.2 * (1 - relative), 0, 1)

per sample:
    apply 1 + round(2 * gap) of [rotate, shear_x, translate_x, translate_y, color, contrast,
                                 brightness, solarize, posterize, smooth, detail]
        magnitude clip(0.1 + 0.6 * gap, 0, 1)
        weight 1 + gap
