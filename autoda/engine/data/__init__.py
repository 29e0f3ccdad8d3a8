"""Image data sets as uint8 tensors: the long-tail profile, a synthetic set generated in
code, and image folders (directories or .tar/.tar.gz archives of class folders)."""
from .folder import DataError, load_image_folder
from .imageset import ImageSet
from .longtail import longtail_counts
from .synthetic import make_synthetic

__all__ = ["DataError", "ImageSet", "load_image_folder", "longtail_counts", "make_synthetic"]
