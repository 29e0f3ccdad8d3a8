"""The names the command line offers, kept free of torch so `autoda compile` starts fast;
the engine's modules check against the same tuples."""
DATASETS = ("synthetic", "cifar10-lt", "cifar100-lt", "folder")
METHODS = ("ce", "ce-drw", "ldam-drw", "bs")
MODELS = ("resnet32", "resnet8", "resnet50")
