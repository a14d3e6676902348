"""Photo decoding and preprocessing, with memory bounded before any full decode.

Worst accepted photo: MAX_PIXELS at 4 bytes a pixel (RGBA, CMYK or 32-bit grey, the widest modes Pillow
decodes into) is 160 MB at the 40 MP default; JPEGs decode DCT-scaled and much smaller. With the ~130 MB
service the model needs, that stays well inside a 512 MB container while taking any phone or dermatoscope
photo (the largest ISIC photos are 6600x4400 = 29 MP).
"""
import io
import os
import warnings
from typing import NamedTuple

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = int(os.environ.get("DERMAI_MAX_PIXELS", 40_000_000))
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP"}
FORMAT_NAMES = "JPEG, PNG, WebP, TIFF or BMP"
# Photos are reduced (DCT scaling for JPEG, box filter otherwise) only while they stay at least this many
# times the model's input, so photos like the model's 600x450 training images reach the resize untouched.
REDUCE_KEEP_FACTOR = 2
EXIF_ORIENTATION = 0x0112
_T = Image.Transpose
_ORIENTATIONS = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE,
                 6: _T.ROTATE_270, 7: _T.TRANSVERSE, 8: _T.ROTATE_90}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, aligned with ours


class ImageError(ValueError):
    """An upload that cannot be analysed; `status` is the HTTP status it deserves."""

    status = 400


class UnsupportedImage(ImageError):
    status = 415


class ImageTooLarge(ImageError):
    status = 413


class Photo(NamedTuple):
    image: Image.Image    # upright RGB, reduced while its short side stays >= 2 * the model's input
    original_size: tuple  # (width, height) of the upload, upright


def open_photo(data, min_side):
    """Decode upload bytes into a Photo, checking the declared size before any decoding."""
    header = _identify(data)
    _check_pixels(*header.size)
    try:
        if header.format in ("JPEG", "MPO") and header.mode in ("RGB", "L"):
            image = _decode_jpeg_like_tensorflow(data, header, min_side)
        else:
            image = _decode_with_pillow(header, min_side)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the photo is too large to decode safely ({exc})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"the image is damaged or truncated and cannot be decoded ({exc})") from exc
    size = header.size[::-1] if header.getexif().get(EXIF_ORIENTATION) in (5, 6, 7, 8) else header.size
    return Photo(to_rgb(_reduce(image, min_side)), size)


def _decode_jpeg_like_tensorflow(data, header, min_side):
    """libjpeg-turbo with the fast integer IDCT, as tf.image.decode_jpeg (the model's training decode) does:
    Pillow's accurate IDCT differs by up to ~15 grey levels, enough to move a probability by 0.1."""
    keep = REDUCE_KEEP_FACTOR * min_side
    short_side = "min_height" if header.height <= header.width else "min_width"
    pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=True, **{short_side: keep})
    orientation = header.getexif().get(EXIF_ORIENTATION)
    image = Image.fromarray(pixels, "RGB")
    return image.transpose(_ORIENTATIONS[orientation]) if orientation in _ORIENTATIONS else image


def _decode_with_pillow(image, min_side):
    factor = _reduction(image.size, min_side)
    if image.format in ("JPEG", "MPO") and factor > 1:
        image.draft(image.mode, (image.width // factor, image.height // factor))  # CMYK JPEGs: DCT scaling
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image.load()
    return ImageOps.exif_transpose(image)


def _identify(data):
    if not data:
        raise ImageError("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"the photo has too many pixels (limit {MAX_PIXELS / 1e6:.0f} megapixels)") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImage(f"the file is not an image in a supported format ({FORMAT_NAMES})") from exc
    if image.format not in ACCEPTED_FORMATS:
        raise UnsupportedImage(f"{image.format} images are not supported; use {FORMAT_NAMES}")
    return image


def _check_pixels(width, height):
    if width < 1 or height < 1:
        raise ImageError("the image has no pixels")
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(
            f"the photo is {width}x{height} ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels")


def _reduction(size, min_side):
    """The largest integer factor that keeps the short side at least REDUCE_KEEP_FACTOR * min_side."""
    return max(1, min(size) // (REDUCE_KEEP_FACTOR * min_side))


def _reduce(image, min_side):
    factor = _reduction(image.size, min_side)
    return image.reduce(factor) if factor > 1 else image


def to_rgb(image):
    """Any decoded mode as 8-bit RGB: 16/32-bit grey rescaled, transparency flattened onto white."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        if image.mode != "F" and values.max(initial=0) > 255:
            values = values / 257.0  # 16-bit range to 8-bit
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info or image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
        flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(flat, image)
    return image.convert("RGB") if image.mode != "RGB" else image


def resize_bilinear(pixels, height, width):
    """tf.image.resize(method="bilinear", antialias=False): half-pixel centres, edge clamped.

    Separable and row-gathering, so a large photo is never converted to float whole.
    """
    rows, row_frac = _sample_positions(pixels.shape[0], height)
    cols, col_frac = _sample_positions(pixels.shape[1], width)
    top, bottom = pixels[rows[0]].astype(np.float32), pixels[rows[1]].astype(np.float32)
    blended = top + (bottom - top) * row_frac[:, None, None]
    left, right = blended[:, cols[0]], blended[:, cols[1]]
    return left + (right - left) * col_frac[None, :, None]


def _sample_positions(in_size, out_size):
    centre = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    base = np.floor(centre)
    frac = (centre - base).astype(np.float32)
    low = np.clip(base, 0, in_size - 1).astype(np.intp)
    high = np.clip(base + 1, 0, in_size - 1).astype(np.intp)
    return (low, high), frac


def model_input(image, height, width):
    """A (1, height, width, 3) float32 batch of 0-255 values, as the model was trained on."""
    return resize_bilinear(np.asarray(image), height, width)[None]


def display_copy(image, max_side):
    """A copy for showing and overlaying, at most max_side pixels on its long side."""
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return copy
