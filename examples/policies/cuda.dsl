policy cuda "CUDA (Ahn et al., ICLR 2023): a per-class curriculum of augmentation levels"

# Each class has a level. A class the model still fits well under its current level
# (training accuracy on its augmented samples above 0.6) gets one level more; any other
# class one level less. At level L a sample draws L ops of CUDA's 22 at magnitude L / 30.
# (CUDA draws its ops with replacement; an apply stage draws distinct ops.)
state level: int in [0, 10] = 0

every epoch:
    level = clip(level + (1 if train_acc > 0.6 else -1), 0, 10)

per sample:
    apply level of [flip_ud, flip_lr, edge_enhance, detail, smooth, autocontrast, equalize,
                    invert, gaussian_blur, scale, rotate, posterize, solarize, solarize_add,
                    color, contrast, brightness, sharpness, shear_x, shear_y, translate_x,
                    translate_y]
        magnitude level / 30
