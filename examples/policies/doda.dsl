policy doda "DODA (ICLR 2024): per-class op weights moved by the change in training accuracy"

# Every epoch each class picks one op, with probability proportional to its weight. After
# the first eighth of training (DODA's epoch > 50 of 400), when the class's training
# accuracy rose over the epoch, the op it used gains 1; when it fell, the op loses 1, never
# below 1 (1000 is never reached: one step an epoch). Half the images (DODA's aug_prob) get
# their class's op, at a uniform random magnitude.
state w: float per op in [1, 1000] = 1
state picked: bool per op = false

every epoch:
    let change = where(train_acc > prev_train_acc, 1, where(train_acc < prev_train_acc, -1, 0))
    w = clip(w + where(picked and progress > 0.125, change, 0), 1, 1000)
    picked = sample_one(w)

per sample:
    apply 1 of [flip_ud, flip_lr, edge_enhance, detail, smooth, autocontrast, equalize, invert,
                gaussian_blur, rotate]
        magnitude uniform(0, 1)
        weight where(picked, 1, 0)
        probability 0.5
