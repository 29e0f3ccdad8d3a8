"""A CUDA-like level rule written the way the paper's strategies are: each class has a level
(the number of ops chosen for it last epoch); it rises by one when the class's training
accuracy passed 0.6, else falls by one, within [0, 10]; the class then uses that many of
CUDA's 22 ops, drawn afresh each epoch, at intensity level / 30. (CUDA itself, and
examples/policies/cuda.dsl, draw the ops per sample; a get_aug_type chooses them per class
and epoch.)"""
import random

import numpy as np

NAME = "paper_cuda"
OPS = ["flip_ud", "flip_lr", "edge_enhance", "detail", "smooth", "autocontrast", "equalize", "invert",
       "gaussian_blur", "scale", "rotate", "posterize", "solarize", "solarize_add", "color", "contrast",
       "brightness", "sharpness", "shear_x", "shear_y", "translate_x", "translate_y"]


def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):
    num_class, num_aug = aug_weight.shape
    chose_matix = np.zeros((num_class, num_aug), dtype=bool)
    chose_exts = np.zeros((num_class, num_aug))
    for i in range(num_class):
        level = int(lats_chose_matix[i].sum())
        level = level + 1 if ACCs[i] > 0.6 else level - 1
        level = min(max(level, 0), 10)
        for j in random.sample(range(num_aug), level):
            chose_matix[i][j] = True
            chose_exts[i][j] = level / 30
    return chose_matix, chose_exts
