# best of cifar10-lt-small-ce-search6: fitness 0.3950 +- 0.0074 (mean balanced validation accuracy over 2 seeds of trainings from scratch (200 epochs)), candidate 9, initialise in generation 0
# idea: start from trivialaugment; changed a constant 1 to 3; added hue to the op list
policy trivialaugment_hf9971b "from trivialaugment: start from trivialaugment; changed a constant 1 to 3; added hue to the op list"

per sample:
    apply 3 of [identity, autocontrast, equalize, rotate, solarize, color, hue,
                posterize, contrast, brightness, sharpness, shear_x, shear_y,
                translate_x, translate_y]
        magnitude uniform(0, 1)
