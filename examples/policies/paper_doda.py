"""DODA's rule written the way the paper's seed strategy writes it: each class uses one op
per epoch, drawn in proportion to its weight; the op it used gains 1 when the class's
training accuracy rose over that epoch and loses 1 when it fell, never below 1."""
import random

import numpy as np

NAME = "paper_doda"
OPS = ["flip_ud", "flip_lr", "edge_enhance", "detail", "smooth", "autocontrast", "equalize", "invert",
       "gaussian_blur", "rotate"]


def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):
    num_class, num_aug = aug_weight.shape
    for i in range(num_class):
        for j in range(num_aug):
            if lats_chose_matix[i][j]:
                # History_ACCs[i][j]: the class's accuracy when op j was chosen, before it ran
                if ACCs[i] > History_ACCs[i][j]:
                    aug_weight[i][j] = min(aug_weight[i][j] + 1, 1000)
                elif ACCs[i] < History_ACCs[i][j]:
                    aug_weight[i][j] = max(aug_weight[i][j] - 1, 1)
    chose_matix = np.zeros((num_class, num_aug), dtype=bool)
    for i in range(num_class):
        k = random.choices(range(num_aug), weights=list(aug_weight[i]))[0]
        chose_matix[i][k] = True
    chose_exts = np.random.rand(num_class, num_aug)
    return chose_matix, chose_exts
