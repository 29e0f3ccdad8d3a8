# best of search_cifar10_lt_offline: fitness 0.3318 (balanced validation accuracy), candidate 7, initialise in generation 0
# idea: start from tail_curriculum; changed a constant 0.1 to 0.1055
policy tail_curriculum "CUDA's curriculum, with rare classes drawing the harsher ops more often"

state level: int in [0, 10] = 0

every epoch:
    level = clip(level + (1 if train_acc > 0.6 else -1), 0, 10)

per sample:
    apply level of [rotate, shear_x, translate_y, posterize, solarize, contrast,
                    sharpness, equalize, invert, gaussian_blur]
        magnitude level / 30
        weight 1 - freq + 0.1055
    cutout(0.25) with probability 0.5
