policy p  # U+2028 here:  is no line break, nor U+0085: nor a form feed:
per sample:
    flip_lr(0.5)
