# best of cifar10-lt-small-bs-search: fitness 0.4465 +- 0.0102 (mean balanced validation accuracy over 3 seeds after 25 fine-tune epochs), candidate 33, mutate in generation 3
# idea: added a smooth stage
policy trivialaugment_h1dc34d "from trivialaugment_hf9971b: added a smooth stage"

per sample:
    smooth(clip(206.06120607927028, 0, 1)) with probability clip(prev_train_acc - 40, 0, 1)
    apply 3 of [identity, autocontrast, equalize, rotate, solarize, color, hue,
                posterize, contrast, brightness, sharpness, shear_x, shear_y,
                translate_x, translate_y]
        magnitude uniform(0, 1)
