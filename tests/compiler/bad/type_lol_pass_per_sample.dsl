policy p
state level: int in [0, 10] = 0
per sample:
    rotate(0.5) with probability where(lol_pass(level), 1, 0)
