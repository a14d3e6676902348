"""Small thumbnails of photos beside their Grad-CAM overlays, for the report's "most wrong" photos: the few
photos are analysed again here with Grad-CAM on (the batch run keeps no image bytes)."""
import base64
import io

from PIL import Image

from Dermal.AI_detection import predict_skin_simple

THUMB_SIDE = 160  # px, the long side: enough to recognise the photo, small as a derived work should be


def small_png(image_bytes, side=THUMB_SIDE):
    """`image_bytes` (any format Pillow reads) shrunk to `side` px on its long side, as base64 PNG text."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.convert("RGB").save(out, "PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def with_thumbnails(entries, jobs, flip_average):
    """`entries` (scoring.most_wrong) each with "photo" and "gradcam" thumbnails; `jobs`: {path: batch.Job}."""
    shown = []
    for entry in entries:
        job = jobs[entry["path"]]
        result = predict_skin_simple(job.path.read_bytes(), age=job.age, sex=job.sex, site=job.site,
                                     gradcam=True, flip_average=flip_average)
        shown.append({**entry, "photo": small_png(result.photo_jpeg),
                      "gradcam": small_png(result.overlay_png) if result.overlay_png else None})
    return shown
