"""Image data sets as uint8 tensors: the long-tail profile, a synthetic set generated in
code, image folders (directories or .tar/.tar.gz archives of class folders), CIFAR-LT, and
the three disjoint splits every run uses."""
from .folder import DataError, load_image_folder
from .imageset import ImageSet
from .longtail import longtail_counts
from .splits import DATASETS, DataSplits, load_dataset, longtail_subset, split_per_class
from .synthetic import make_synthetic

__all__ = ["DATASETS", "DataError", "DataSplits", "ImageSet", "load_dataset", "load_image_folder",
           "longtail_counts", "longtail_subset", "make_synthetic", "split_per_class"]
