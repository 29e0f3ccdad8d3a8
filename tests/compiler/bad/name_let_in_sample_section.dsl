policy p
every epoch:
    let strength = 0.5 * rank
per sample:
    cutout(strength)
