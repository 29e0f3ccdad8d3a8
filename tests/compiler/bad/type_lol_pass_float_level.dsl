policy p
state strength: float in [0, 1] = 0
every epoch:
    strength = where(lol_pass(strength), 1, 0)
per sample:
    rotate(strength)
