# best of cifar10-lt-small-ce-search2: fitness 0.3865 +- 0.0059 (mean balanced validation accuracy over 3 seeds after 25 fine-tune epochs), candidate 21, crossover in generation 2
# idea: no crossover checked; randaugment mutated: added flip_lr to the op list
policy randaugment_h25b892 "from randaugment: added flip_lr to the op list"

per sample:
    apply 2 of [identity, autocontrast, equalize, rotate, solarize, color, posterize,
                contrast, brightness, sharpness, flip_lr, shear_x, shear_y, translate_x,
                translate_y]
        magnitude 0.3
