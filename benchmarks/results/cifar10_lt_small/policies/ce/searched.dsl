# best of cifar10-lt-small-ce-search: fitness 0.3877 +- 0.0135 (mean balanced validation accuracy over 3 seeds after 25 fine-tune epochs), candidate 49, mutate in generation 5
# idea: added a rotate stage
policy none_h9d871a "from none_h933879: added a rotate stage"

per sample:
    rotate(clip(feat_norm + 54.9885916698272, 0, 1)) with probability clip(prev_train_acc, 0, 1)
    brightness(clip(floor(-20), 0.558, 0.559)) with probability clip(train_loss ** 0, 0.887, 0.618)
