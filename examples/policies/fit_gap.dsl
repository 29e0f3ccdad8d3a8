policy fit_gap "push augmentation where a class is fitted too easily, ease off where it struggles"

# strength rises while a class's training accuracy stays above 0.9 and falls while the
# class is harder than the average class; rare classes rise twice as fast.
state strength: float in [0, 1] = 0.1

every epoch:
    let step = 0.05 * (1 + rank)
    let easy = train_acc > 0.9
    let hard = train_acc < mean(train_acc)
    strength = clip(strength + where(easy, step, where(hard, -step, 0)), 0, 1)

per sample:
    apply 2 of [rotate, shear_x, shear_y, translate_x, translate_y, color, contrast,
                brightness, sharpness, equalize, autocontrast, gaussian_noise]
        magnitude uniform(0, strength)
    cutout(0.5 * strength) with probability strength
