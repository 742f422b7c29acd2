"""Thumbnails made by an external program on files of any mount, through ``node.call()``.

ImageMagick's ``convert`` gets local paths for both nodes: the picture is downloaded first
when it is on S3, the thumbnail uploaded after. Where no real ImageMagick is installed
(``convert -version`` does not say so), Pillow makes it from the node's stream instead.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

from genro_storage import StorageNode
from genro_storage_django import storage_manager

#: The largest side of a thumbnail, in pixels.
SIZE = 320


@cache
def imagemagick() -> str | None:
    """The path of ImageMagick's ``convert``, or None."""
    program = shutil.which("convert")
    if program is None:
        return None
    try:
        version = subprocess.run([program, "-version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return program if "ImageMagick" in version else None


def make_thumbnail(picture: StorageNode) -> str:
    """Make the PNG thumbnail of ``picture`` at ``thumbs/<its path>.png`` on its mount
    (``a.jpg`` and ``a.png`` get two); returns the name a mount-bound field stores."""
    out = storage_manager().node(picture.mount_name, "thumbs", f"{picture.path}.png")
    program = imagemagick()
    if program is not None:
        # '>' shrinks larger pictures only; -strip drops their metadata.
        picture.call(program, picture, "-auto-orient", "-thumbnail", f"{SIZE}x{SIZE}>", "-strip", out)
    else:
        from PIL import Image

        with picture.open("rb") as source, Image.open(source) as image:
            image.thumbnail((SIZE, SIZE))
            with out.open("wb") as target:
                image.save(target, format="PNG")
    return out.fullpath
