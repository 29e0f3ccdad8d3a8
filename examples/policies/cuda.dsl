policy cuda "CUDA (Ahn et al., ICLR 2023): a per-class curriculum of augmentation levels"

# Each class has a level. At the start of every epoch CUDA's level-of-learning probe asks
# the model, in eval mode, to classify the class's images augmented at every level up to
# its own (10 (s + 1) images at level s): a class it still classifies above 0.6 at each of
# them gets one level more; any other class one level less (CUDA_LTR's update_score_base).
# At level L a sample draws L ops of CUDA's 22 at magnitude L / 30. (CUDA augments half
# the samples, one coin per sample for all its ops, and draws its ops with replacement; an
# apply stage augments every sample and draws distinct ops: docs/fidelity.md.)
state level: int in [0, 10] = 0

every epoch:
    level = clip(level + (1 if lol_pass(level) else -1), 0, 10)

per sample:
    apply level of [flip_ud, flip_lr, edge_enhance, detail, smooth, autocontrast, equalize,
                    invert, gaussian_blur, scale, rotate, posterize, solarize, solarize_add,
                    color, contrast, brightness, sharpness, shear_x, shear_y, translate_x,
                    translate_y]
        magnitude level / 30
