"""DODA's rule written the way the paper's seed strategy writes it: each class uses one op
per epoch, drawn in proportion to its weight; after epoch 50, the op it used gains 1 when
the class's correct training predictions rose since the last epoch that used that op, and
loses 1 when they fell, never below 1. (The paper's own seed writes the update as
`aug_weight[cidx][indices][upper_index] += 1`, which changes a copy: its weights never move.)"""
import random

import numpy as np

NAME = "paper_doda"
OPS = ["flip_ud", "flip_lr", "edge_enhance", "detail", "smooth", "autocontrast", "equalize", "invert",
       "gaussian_blur", "rotate"]


def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):
    num_class, num_aug = aug_weight.shape
    for i in range(num_class):
        for j in range(num_aug):
            if epoch > 50 and lats_chose_matix[i][j]:  # DODA's and the seed's gate: weights move after epoch 50
                # History_ACCs[i][j]: the class's correct predictions at the end of the last
                # epoch before this one that used op j (0 if none did)
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
