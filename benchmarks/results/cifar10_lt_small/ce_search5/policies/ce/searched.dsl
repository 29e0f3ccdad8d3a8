# best of cifar10-lt-small-ce-search5: fitness 0.3973 +- 0.0065 (mean balanced validation accuracy over 3 seeds after 85 fine-tune epochs), candidate 15, mutate in generation 1
# idea: added a smooth stage
policy trivialaugment_h1a6cfe "from trivialaugment_hf9971b: added a smooth stage"

per sample:
    apply 3 of [identity, autocontrast, equalize, rotate, solarize, color, hue,
                posterize, contrast, brightness, sharpness, shear_x, shear_y,
                translate_x, translate_y]
        magnitude uniform(0, 1)
    smooth(clip(67 / (1 + abs(feat_norm)), 0, 1)) with probability clip(count / 53, 0, 1)
