"""Which photos a command was given: files, folders (searched recursively) and glob patterns, on this machine or
by URL on any file system fsspec knows (s3://, gs://, file://, memory://, ...), and reading one of them."""
import errno
import glob
import os
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}


class InputError(ValueError):
    """Inputs that name no photo."""


class PhotoURL(str):
    """A photo named by URL: the URL itself (the table's path), with a Path's name and stem (the image_id)."""

    @property
    def name(self):
        return PurePosixPath(urlsplit(self).path).name

    @property
    def stem(self):
        return PurePosixPath(self.name).stem


def _is_photo(name):
    return PurePosixPath(name).suffix.lower() in PHOTO_SUFFIXES


def _photos_in(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file() and _is_photo(p.name))


def _local(text):
    path = Path(text)
    if path.is_dir():
        return _photos_in(path)
    if path.is_file():
        return [path]
    return [Path(p) for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file() and _is_photo(p)]


def _by_url(url):
    """The photos at a URL (a file, a folder or a glob), listed with this process's credentials for that store."""
    import fsspec  # the batch tool's only: listing and reading object storage

    fs, path = fsspec.core.url_to_fs(url)
    if fs.isdir(path):
        found = [p for p in fs.find(path) if _is_photo(p)]
    elif fs.isfile(path):
        found = [path]
    else:
        found = [p for p in fs.glob(path) if _is_photo(p) and fs.isfile(p)]
    return [PhotoURL(fs.unstrip_protocol(p)) for p in sorted(found)]


def expand(inputs):
    """The photos named by `inputs`, in the order given, each once: Paths, and PhotoURLs for inputs with a
    scheme. A file named explicitly is kept whatever its suffix (the analysis says whether it is a photo); a
    folder or pattern contributes photo files only."""
    found, unmatched = {}, []
    for text in inputs:
        matches = _by_url(text) if "://" in text else _local(text)
        if not matches:
            unmatched.append(text)
        found.update(dict.fromkeys(matches))
    if unmatched:
        raise InputError(f"no photo found at {', '.join(unmatched)}")
    return list(found)


def read_bytes(photo):
    """A photo's bytes, read by whichever process analyses it (a Dask worker reads its own: the client never
    handles them). Raises OSError, with the reason in its strerror, when they cannot be read."""
    if not isinstance(photo, PhotoURL):
        return Path(photo).read_bytes()
    import fsspec

    try:
        with fsspec.open(photo, "rb").open() as handle:
            return handle.read()
    except FileNotFoundError as exc:  # object stores name the key only: give the reason a local file would
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), photo) from exc
