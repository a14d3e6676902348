"""The evaluation's pictures, drawn with Pillow: confusion matrices and a grid of photos with Grad-CAM overlays."""
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from Dermal.inference.overlay import blend_heatmap

BACKGROUND, INK, GRID = (255, 255, 255), (20, 20, 20), (200, 200, 200)
CELL, MARGIN = 46, 12


def font(size):
    return ImageFont.load_default(size=size)


def _cell_colour(share):
    """White (0) to deep blue (1): the share of the row's images in that cell."""
    low, high = np.array([247, 251, 255]), np.array([8, 69, 148])
    return tuple(int(v) for v in low + (high - low) * share)


def confusion_panel(matrix, classes, title):
    """One confusion matrix (rows true class, columns predicted), cells shaded by the row's share."""
    label_width, top = 60, 56
    size = (label_width + CELL * len(classes) + MARGIN, top + CELL * len(classes) + 34)
    panel = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(panel)
    draw.text((MARGIN, 6), title, fill=INK, font=font(14))
    draw.text((label_width, 28), "predicted class", fill=INK, font=font(12))
    rows = matrix.sum(axis=1)
    for i, true in enumerate(classes):
        y = top + i * CELL
        draw.text((label_width - 8, y + CELL // 2), true, fill=INK, font=font(12), anchor="rm")
        for j in range(len(classes)):
            x = label_width + j * CELL
            share = matrix[i, j] / rows[i] if rows[i] else 0.0
            draw.rectangle((x, y, x + CELL, y + CELL), fill=_cell_colour(share), outline=GRID)
            if rows[i]:
                draw.text((x + CELL // 2, y + CELL // 2), str(matrix[i, j]), font=font(14), anchor="mm",
                          fill=BACKGROUND if share > 0.5 else INK)
    for j, predicted in enumerate(classes):
        draw.text((label_width + j * CELL + CELL // 2, top + CELL * len(classes) + 6), predicted, fill=INK,
                  font=font(12), anchor="mt")
    draw.text((6, top - 14), "true", fill=INK, font=font(12))
    return panel


def side_by_side(images, footer):
    """Images in a row on white, with a line of small text beneath."""
    width = sum(image.width for image in images) + MARGIN * (len(images) + 1)
    height = max(image.height for image in images) + 2 * MARGIN + 18
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    x = MARGIN
    for image in images:
        canvas.paste(image, (x, MARGIN))
        x += image.width + MARGIN
    ImageDraw.Draw(canvas).text((MARGIN, height - 20), footer, fill=INK, font=font(11))
    return canvas


def example_tile(small, cam, caption):
    """The (small, PIL) photo above its Grad-CAM overlay, with a caption."""
    tile = Image.new("RGB", (small.width, 2 * small.height + 40), BACKGROUND)
    tile.paste(small, (0, 0))
    tile.paste(blend_heatmap(small, cam), (0, small.height + 2))
    draw = ImageDraw.Draw(tile)
    for line, text in enumerate(caption):
        draw.text((2, 2 * small.height + 5 + 16 * line), text, fill=INK, font=font(12))
    return tile


def save_png(image, path):
    """PNG in a 256-colour palette: the photos' look survives, the file stays small enough to commit."""
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
