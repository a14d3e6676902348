"""Photo decoding and preprocessing, with memory bounded before any full decode.

JPEGs (nearly every lesion photo) are decoded exactly as TensorFlow decodes them, whole, because the model
was trained on tf.image.decode_jpeg + tf.image.resize: on the held-out ISIC photos, shrinking big photos
first (DCT scaling) moved accuracy from 0.742 to 0.711. The decoded photo is held once, as a NumPy array
(EXIF rotation is a view, resizing gathers only the rows and columns it samples), so the pixel cap bounds
the cost: 3 bytes a pixel, 120 MB at the 40 MP default, which with the ~150 MB of the loaded model stays
well inside a 512 MB container. Other formats go through Pillow and are box-reduced first while they stay
at least twice the model's input. The largest ISIC photos are 6600x4400 = 29 MP.
"""
import io
import os
import struct
import warnings
from typing import NamedTuple

import numpy as np
import simplejpeg
from PIL import Image, UnidentifiedImageError

from .words import decimal, fill, gettext_noop

MAX_PIXELS = int(os.environ.get("DERMAI_MAX_PIXELS", 40_000_000))
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP"}
FORMAT_NAMES = "JPEG, PNG, WebP, TIFF or BMP"  # written out in the messages below (one sentence, one message id)
# Pillow-decoded photos are box-reduced only while they stay at least this many times the model's input, so
# photos at the model's training scale (600x450) reach the resize untouched.
REDUCE_KEEP_FACTOR = 2
EXIF_ORIENTATION = 0x0112
# EXIF orientation -> the NumPy view that shows the photo upright (rows, columns, channels).
_UPRIGHT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2), 6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1], 8: lambda a: a.transpose(1, 0, 2)[::-1],
}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, aligned with ours


class ImageError(ValueError):
    """An upload that cannot be analysed; `status` is the HTTP status it deserves.

    The message is shown to the person who sent it: what is wrong with the photo in their terms, never the
    decoder's own words, which stay in the chained cause for the log (Dermal.public_errors). It is kept as its
    English message id (marked with gettext_noop) and the values of its placeholders, for the web layer to
    translate; str() gives it in English, filled in.
    """

    status = 400

    def __init__(self, message_id, **params):
        super().__init__(fill(message_id, params))
        self.message_id, self.params = message_id, params


class UnsupportedImage(ImageError):
    status = 415


class ImageTooLarge(ImageError):
    status = 413


class Photo(NamedTuple):
    pixels: np.ndarray    # (height, width, 3) uint8, upright (possibly a view); see module notes on size
    original_size: tuple  # (width, height) of the upload, upright


def open_photo(data, min_side):
    """Decode upload bytes into a Photo, checking the declared size before any decoding."""
    header = _identify(data)
    _check_pixels(*header.size)
    try:
        if header.format in ("JPEG", "MPO") and header.mode in ("RGB", "L"):
            pixels = _decode_jpeg_like_tensorflow(data)
        else:
            pixels = _decode_with_pillow(header, min_side)
        orientation = header.getexif().get(EXIF_ORIENTATION)  # a PNG's may follow its pixels: read it after
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(gettext_noop("the photo has too many pixels to decode safely "
                                         "(limit %(limit)s megapixels)"), limit=decimal(MAX_PIXELS / 1e6, 0)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(gettext_noop("the image is damaged or truncated and cannot be decoded")) from exc
    size = header.size[::-1] if orientation in (5, 6, 7, 8) else header.size
    return Photo(_UPRIGHT.get(orientation, lambda a: a)(pixels), size)


def _decode_jpeg_like_tensorflow(data):
    """libjpeg-turbo with the fast integer IDCT, as tf.image.decode_jpeg (the model's training decode) does:
    Pillow's accurate IDCT differs by up to ~15 grey levels, enough to move a probability by 0.1."""
    return simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=True)


def _decode_with_pillow(image, min_side):
    """Pillow for everything but plain JPEGs, reduced before any mode conversion; EXIF is applied later."""
    if image.format in ("JPEG", "MPO"):  # a CMYK JPEG: let the decoder scale in the DCT domain
        factor = _reduction(image.size, min_side)
        image.draft(image.mode, (image.width // factor, image.height // factor))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image.load()
    if (factor := _reduction(image.size, min_side)) > 1:
        image = image.reduce(factor)
    return np.asarray(to_rgb(image))


def _identify(data):
    if not data:
        raise ImageError(gettext_noop("the file is empty"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(gettext_noop("the photo has too many pixels (limit %(limit)s megapixels)"),
                            limit=decimal(MAX_PIXELS / 1e6, 0)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedImage(gettext_noop("the file is not an image in a supported format "
                                            "(JPEG, PNG, WebP, TIFF or BMP)")) from exc
    if image.format not in ACCEPTED_FORMATS:
        # Translators: %(format)s is the file's format as the decoder names it, e.g. GIF.
        raise UnsupportedImage(gettext_noop("%(format)s images are not supported; use JPEG, PNG, WebP, TIFF or BMP"),
                               format=image.format)
    return image


def _check_pixels(width, height):
    if width < 1 or height < 1:
        raise ImageError(gettext_noop("the image has no pixels"))
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(
            # Translators: the photo's width and height in pixels, e.g. "the photo is 8000x6000 (48.0 megapixels)".
            gettext_noop("the photo is %(width)sx%(height)s (%(megapixels)s megapixels); "
                         "the limit is %(limit)s megapixels"),
            width=width, height=height, megapixels=decimal(width * height / 1e6, 1),
            limit=decimal(MAX_PIXELS / 1e6, 0))


def _reduction(size, min_side):
    """The largest integer factor that keeps the short side at least REDUCE_KEEP_FACTOR * min_side."""
    return max(1, min(size) // (REDUCE_KEEP_FACTOR * min_side))


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
    """tf.image.resize(method="bilinear", antialias=False): half-pixel centres, edge clamped, and the same
    order of interpolation (along each row first, then between rows).

    Only the sampled rows and columns are gathered, so a large photo is never copied or made float whole.
    """
    rows, row_frac = _sample_positions(pixels.shape[0], height)
    cols, col_frac = _sample_positions(pixels.shape[1], width)
    (top_left, top_right), (bottom_left, bottom_right) = (
        [pixels[r][:, c].astype(np.float32) for c in cols] for r in rows)
    col_frac = col_frac[None, :, None]
    upper = top_left + (top_right - top_left) * col_frac
    lower = bottom_left + (bottom_right - bottom_left) * col_frac
    return upper + (lower - upper) * row_frac[:, None, None]


def _sample_positions(in_size, out_size):
    centre = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    base = np.floor(centre)
    frac = (centre - base).astype(np.float32)
    low = np.clip(base, 0, in_size - 1).astype(np.intp)
    high = np.clip(base + 1, 0, in_size - 1).astype(np.intp)
    return (low, high), frac


def model_input(pixels, height, width):
    """A (1, height, width, 3) float32 batch of 0-255 values, as the model was trained on."""
    return resize_bilinear(pixels, height, width)[None]


def display_copy(pixels, max_side):
    """A PIL copy for showing and overlaying, at most max_side pixels on its long side.

    A strided subsample (still at least twice the target) feeds Lanczos, so a big photo is never copied whole.
    """
    step = max(1, max(pixels.shape[:2]) // (2 * max_side))
    image = Image.fromarray(np.ascontiguousarray(pixels[::step, ::step]), "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image
