import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from Dermal.inference import imaging


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def lesion(lesion_jpeg):
    return Image.open(io.BytesIO(lesion_jpeg)).convert("RGB")


def test_bilinear_resize_matches_tensorflow_on_a_real_photo(lesion):
    tf = pytest.importorskip("tensorflow")
    pixels = np.asarray(lesion)
    ours = imaging.resize_bilinear(pixels, 254, 254)
    theirs = tf.image.resize(pixels, (254, 254), method="bilinear", antialias=False).numpy()
    assert np.abs(ours - theirs).max() < 0.01  # float32 rounding: a 1/25 of a grey level


@pytest.mark.parametrize("shape,out", [((7, 5, 3), (13, 3)), ((300, 200, 3), (254, 254)), ((1, 1, 3), (4, 4))])
def test_bilinear_resize_matches_tensorflow_up_and_down(shape, out):
    tf = pytest.importorskip("tensorflow")
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    theirs = tf.image.resize(pixels, out, method="bilinear", antialias=False).numpy()
    assert np.abs(imaging.resize_bilinear(pixels, *out) - theirs).max() < 0.01


def test_model_input_is_a_float_batch_of_0_to_255(lesion):
    batch = imaging.model_input(np.asarray(lesion), 254, 254)
    assert batch.shape == (1, 254, 254, 3) and batch.dtype == np.float32
    assert 0 <= batch.min() and batch.max() <= 255


def test_jpeg_is_decoded_exactly_as_tensorflow_decodes_it(fixture_items):
    tf = pytest.importorskip("tensorflow")
    for item in fixture_items[::3]:  # original and re-encoded JPEGs, 1024x768 to 3072x2304
        data = item.read()
        pixels = imaging.open_photo(data, 254).pixels
        assert np.array_equal(pixels, tf.io.decode_jpeg(data, channels=3).numpy()), item.path.name


def test_large_jpeg_is_decoded_whole_as_tensorflow_does(lesion):
    photo = imaging.open_photo(encoded(lesion.resize((2400, 1800)), "JPEG", quality=90), 254)
    assert photo.pixels.shape == (1800, 2400, 3) and photo.original_size == (2400, 1800)


def test_large_png_is_box_reduced_keeping_twice_the_input(lesion):
    photo = imaging.open_photo(encoded(lesion.resize((3000, 2250)).convert("RGBA"), "PNG"), 254)
    assert 508 <= photo.pixels.shape[0] < 2250 and photo.original_size == (3000, 2250)


@pytest.mark.parametrize("mode,fmt", [
    ("CMYK", "TIFF"), ("CMYK", "JPEG"), ("L", "JPEG"), ("L", "PNG"), ("I;16", "PNG"), ("RGBA", "PNG"),
    ("P", "PNG"), ("LA", "PNG"), ("I", "TIFF"), ("F", "TIFF"), ("RGB", "WEBP"), ("RGB", "BMP"),
])
def test_every_common_mode_becomes_rgb(lesion, mode, fmt):
    image = lesion.convert("L").convert(mode) if mode in ("I;16", "I", "F") else lesion.convert(mode)
    pixels = imaging.open_photo(encoded(image, fmt), 254).pixels
    assert pixels.dtype == np.uint8 and pixels.shape == (lesion.height, lesion.width, 3)


def test_sixteen_bit_grey_is_rescaled_not_clipped(lesion):
    grey = np.asarray(lesion.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    pixels = imaging.open_photo(encoded(Image.fromarray(grey), "PNG"), 254).pixels
    assert abs(pixels[..., 0].astype(int) - np.asarray(lesion.convert("L"))).max() <= 1


def test_transparency_is_flattened_onto_white(lesion):
    clear = lesion.convert("RGBA")
    clear.putalpha(0)
    assert imaging.open_photo(encoded(clear, "PNG"), 254).pixels.min() == 255


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_every_exif_orientation_matches_pillows_exif_transpose(lesion, orientation, fmt):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(lesion, fmt, exif=exif.tobytes())
    photo = imaging.open_photo(data, 254)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert photo.pixels.shape == (upright.height, upright.width, 3) and photo.original_size == upright.size
    assert np.abs(photo.pixels.astype(int) - np.asarray(upright)).mean() < 2  # two JPEG decoders, same pixels


@pytest.mark.parametrize("data,error,status", [
    (b"", imaging.ImageError, 400),
    (b"just some text, not a photo", imaging.UnsupportedImage, 415),
])
def test_non_images_are_refused_with_their_status(data, error, status):
    with pytest.raises(error) as caught:
        imaging.open_photo(data, 254)
    assert caught.value.status == status


def test_gif_is_an_unsupported_format(lesion):
    with pytest.raises(imaging.UnsupportedImage, match="GIF"):
        imaging.open_photo(encoded(lesion, "GIF"), 254)


def test_truncated_jpeg_is_a_clear_400(lesion_jpeg):
    with pytest.raises(imaging.ImageError, match="damaged or truncated") as caught:
        imaging.open_photo(lesion_jpeg[: len(lesion_jpeg) // 2], 254)
    assert caught.value.status == 400


def test_decompression_bomb_is_refused_before_decoding():
    bomb = encoded(Image.new("L", (20000, 20000)), "PNG")  # ~20 KB declaring 400 megapixels
    with pytest.raises(imaging.ImageTooLarge, match="megapixels") as caught:
        imaging.open_photo(bomb, 254)
    assert caught.value.status == 413


@pytest.mark.parametrize("size", [(600, 450), (6000, 4500), (300, 200)])
def test_display_copy_fits_the_longest_side(lesion, size):
    shown = imaging.display_copy(np.asarray(lesion.resize(size)), 320)
    assert max(shown.size) == min(320, max(size)) and shown.mode == "RGB"
