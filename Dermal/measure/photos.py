"""Which photos a command was given: files, folders (searched recursively) and glob patterns."""
import glob
from pathlib import Path

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}


class InputError(ValueError):
    """Inputs that name no photo."""


def _photos_in(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def expand(inputs):
    """The photos named by `inputs`, in the order given, each once. A file named explicitly is kept whatever
    its suffix (the analysis says whether it is a photo); a folder or pattern contributes photo files only."""
    found, unmatched = {}, []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            matches = _photos_in(path)
        elif path.is_file():
            matches = [path]
        else:
            matches = [Path(p) for p in sorted(glob.glob(text, recursive=True))
                       if Path(p).is_file() and Path(p).suffix.lower() in PHOTO_SUFFIXES]
        if not matches:
            unmatched.append(text)
        found.update(dict.fromkeys(matches))
    if unmatched:
        raise InputError(f"no photo found at {', '.join(unmatched)}")
    return list(found)
