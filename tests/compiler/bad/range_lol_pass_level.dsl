policy p
state level: int in [0, 20] = 0
every epoch:
    level = clip(level + where(lol_pass(level), 1, -1), 0, 20)
per sample:
    rotate(level / 20)
