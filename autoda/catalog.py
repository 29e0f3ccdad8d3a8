"""The names (and the default network) the command line offers, kept free of torch so `autoda compile` starts fast;
the engine's modules check against the same tuples."""
DATASETS = ("synthetic", "cifar10-lt", "cifar100-lt", "folder")
METHODS = ("ce", "ce-drw", "ldam-drw", "bs", "ride", "bcl")
# The base augmentation around a policy (engine/augment/standard.py): pad-crop and flip;
# the paper's (crop, flip, AutoAugment CIFAR-10, the policy, Cutout 16); or nothing.
BASES = ("standard", "paper", "none")
MODELS = ("resnet32", "resnet8", "resnet8w16", "resnet50")
# A folder data set's split files ('relative/path label' lines: ImageNet-LT's, iNaturalist's)
# and the side its images are resized to: the data keys every command and configuration takes
SPLIT_FILE_KEYS = ("train_list", "val_list", "test_list", "image_size")

# Bounds on numbers the commands, experiment configurations and stored run configurations
# take, so an extreme one is refused with one line rather than failing deep in torch:
SEED_RANGE = (-(2**31), 2**31 - 1)  # seeds are mixed into 64-bit generator seeds (seed * 1_000_003 + epoch)
MAX_EPOCHS = 10_000  # far beyond any recipe; preview simulates every epoch up to --epoch
MAX_LR = 1_000.0  # above it SGD only diverges; near float32's limit it overflows before it can


def default_net(dataset: str, image_size: int | None = None) -> str:
    """The network `auto` means: resnet8 for the synthetic set, ResNet-32 for CIFAR-sized
    images, ResNet-50 for images above 64 pixels (when the size is known)."""
    if dataset == "synthetic":
        return "resnet8"
    return "resnet50" if image_size is not None and image_size > 64 else "resnet32"
