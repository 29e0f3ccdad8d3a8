"""Decoding one image file into a uint8 tensor [3, H, W], in bounded memory and time.

Image folders come from anywhere, so every file is treated as hostile: its bytes are read
up to a limit (autoda.files.read_limited), only the formats the folder reader looks for
are parsed (Pillow would otherwise hand a file named .png to any of its plugins, EPS's
among them, which runs Ghostscript), and the pixel count a header declares is checked
before anything is decoded, so a small file that declares 100,000 x 100,000 pixels (a
decompression bomb) costs nothing. Pillow's own bomb check warns at 89 megapixels and
refuses at twice that, far above what this tool needs, so it has its own limit.
"""
from __future__ import annotations

import io
import warnings

import torch
from PIL import Image, UnidentifiedImageError

from ....errors import AutodaError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
FORMATS = ("JPEG", "PNG", "BMP", "WEBP")  # by content, whatever the suffix says (some .JPEG files are PNGs)
MAX_IMAGE_BYTES = 64 * 2**20  # a large camera JPEG is about 10 MiB
MAX_IMAGE_PIXELS = 40_000_000  # a 7,700 x 5,200 photo; resized sets (--image-size) are far smaller


class ImageError(AutodaError, ValueError):
    """An image file that cannot be decoded (broken, truncated, too large, not an image)."""


def decode_image(data: bytes, size: int | None = None) -> torch.Tensor:
    """RGB uint8 [3, H, W]; with ``size``, resized (shorter side) and centre-cropped to size x size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    raise ImageError(f"{img.width} x {img.height} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels")
                return _to_tensor(img, size)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"it declares more than {MAX_IMAGE_PIXELS:,} pixels (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageError("not a JPEG, PNG, BMP or WebP image, or a damaged one") from None
    except Exception as error:
        # Pillow reports a broken file as OSError, SyntaxError (a bad PNG checksum),
        # ValueError, EOFError, struct.error, zlib.error, ...: every one is a bad file here.
        raise ImageError(f"{type(error).__name__}: {error}") from None


def _to_tensor(img: Image.Image, size: int | None) -> torch.Tensor:
    img = img.convert("RGB")
    if size is not None:
        scale = size / min(img.size)
        img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))),
                         Image.BILINEAR)
        left, top = (img.width - size) // 2, (img.height - size) // 2
        img = img.crop((left, top, left + size, top + size))
    array = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    return array.view(img.height, img.width, 3).permute(2, 0, 1)
