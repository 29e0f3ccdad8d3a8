policy p
per sample:
