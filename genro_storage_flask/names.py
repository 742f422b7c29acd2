"""Names for uploaded files: what a browser sends, made safe to store on any mount."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["safe_name", "NAME_MAX"]

#: Characters no file name keeps: Windows' reserved ones (a mount may be synced there).
_RESERVED = frozenset('<>:"|?*')
#: Names Windows gives to devices, whatever the extension.
_DEVICES = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?\Z", re.IGNORECASE)
#: Most file systems' limit on one name, in bytes.
NAME_MAX = 255


def safe_name(filename: str) -> str:
    """``filename`` as a name safe to store: NFC, control and format characters (a
    right-to-left override disguising ``gpj.exe``) and Windows' reserved ones become ``_``,
    leading dots and surrounding spaces go (no hidden ``.htaccess``), a device name gets a
    ``_`` before it, at most 255 bytes keeping the extension. A name carrying a path
    (``/``, ``\\``, ``..``) is refused with ValueError, as is one left empty."""
    if "/" in filename or "\\" in filename or filename.strip() in (".", ".."):
        raise ValueError(f"file name {filename!r} carries a path; send the bare name")
    name = unicodedata.normalize("NFC", filename)
    name = "".join("_" if ch in _RESERVED or unicodedata.category(ch)[0] == "C" else ch for ch in name)
    name = name.strip().lstrip(".").rstrip(". ")
    if _DEVICES.match(name):
        name = "_" + name
    if len(name.encode("utf-8")) > NAME_MAX:
        stem, dot, suffix = name.rpartition(".")
        if not dot or len(suffix.encode()) > 16:
            stem, suffix = name, ""
        room = NAME_MAX - len(suffix.encode()) - (1 if suffix else 0)
        stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
        name = f"{stem}.{suffix}" if suffix else stem
    if not name:
        raise ValueError(f"file name {filename!r} is empty once made safe")
    return name
