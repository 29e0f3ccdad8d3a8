policy p
per sample:
    cutot(0.3)
