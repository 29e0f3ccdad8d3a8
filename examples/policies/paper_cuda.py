"""A CUDA-like level rule written the way the paper's strategies are: each class has a level
(the number of ops chosen for it last epoch); it rises by one when the class's correct
training predictions rose over its best so far, else falls by one, within [0, 10]; the class
then uses that many of CUDA's 22 ops, drawn afresh each epoch, at intensity level / 30.
(CUDA itself, and examples/policies/cuda.dsl, raise the level when the training accuracy
passes 0.6 and draw the ops per sample; a get_aug_type gets correct counts, not class sizes,
and chooses the ops per class and epoch. The host divides an intensity by the number of ops
chosen, so each is written as level * level / 30, at most 1.)"""
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
        level = level + 1 if ACCs[i] > History_ACCs[i].max() else level - 1
        level = min(max(level, 0), 10)
        for j in random.sample(range(num_aug), level):
            chose_matix[i][j] = True
            chose_exts[i][j] = min(level * level / 30, 1)
    return chose_matix, chose_exts
