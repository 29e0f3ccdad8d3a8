policy none "no augmentation beyond the trainer's standard pad-crop and flip"

per sample:
    identity
