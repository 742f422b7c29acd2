"""The sample files the examples show: pictures, a PDF and a WebM video, each made once.

They are made in ``GENRO_EXAMPLES_CACHE`` (default: ``samples`` in the state directory)
and copied to ``samples/`` on the S3 mount at each start. The video needs Debian's ffmpeg
(``scripts/demo.sh`` installs it); the pictures need Pillow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from embedded import state_dir

__all__ = ["cache_dir", "make_samples", "seed_samples"]

#: Seconds of sample video: at ~3 Mbit/s about 18 MB, large enough that a browser
#: fetches it by ranges and seeks with a new Range request.
VIDEO_SECONDS = 48


def cache_dir() -> Path:
    """Where the sample files are made once (``GENRO_EXAMPLES_CACHE``, else the state's ``samples``)."""
    folder = Path(os.environ.get("GENRO_EXAMPLES_CACHE") or state_dir() / "samples")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF showing ``title`` and ``lines`` in Helvetica."""

    def text(value: str) -> str:
        return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    body = " ".join(f"({text(line)}) '" for line in lines)
    stream = f"BT /F1 28 Tf 72 700 Td ({text(title)}) Tj /F1 14 Tf 22 TL 0 -16 Td {body} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def _picture(path: Path, label: str, colours: tuple[tuple[int, int, int], tuple[int, int, int]]) -> None:
    """A 1200x800 picture: a gradient between two colours, circles, and ``label``."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = 1200, 800
    start, end = colours
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for x in range(width):
        mix = x / (width - 1)
        draw.line([(x, 0), (x, height)], fill=tuple(round(a + (b - a) * mix) for a, b in zip(start, end, strict=True)))
    for i in range(6):
        r = 60 + 25 * i
        cx, cy = 200 + 160 * i, 260 + 60 * (i % 3)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(255, 255, 255), width=6)
    draw.text((60, 640), label, fill=(255, 255, 255), font=ImageFont.load_default(size=96))
    image.save(path)


def _video(path: Path) -> None:
    """A WebM/VP9 clip of ffmpeg's ``testsrc2`` (with noise, so it does not compress away)."""
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial{path.suffix}")  # two first runs at once
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={VIDEO_SECONDS}",
        "-vf", "noise=alls=12:allf=t",
        "-c:v", "libvpx-vp9", "-b:v", "3M", "-minrate", "3M", "-maxrate", "3M",
        "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-g", "50", "-an",
        str(partial),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    partial.replace(path)


def make_samples(folder: Path | None = None) -> Path:
    """The sample files in ``folder`` (the cache by default), each made once: pictures, a
    PDF, and a WebM video when ffmpeg is installed. Returns the folder."""
    folder = folder or cache_dir()
    pictures = {
        "harbour.png": ("Harbour", ((14, 63, 120), (38, 166, 154))),
        "meadow.jpg": ("Meadow", ((46, 125, 50), (205, 220, 57))),
        "sunset.png": ("Sunset", ((183, 28, 28), (255, 179, 0))),
    }
    for name, (label, colours) in pictures.items():
        if not (folder / name).exists():
            _picture(folder / name, label, colours)
    guide = folder / "guide.pdf"
    if not guide.exists():
        guide.write_bytes(
            _pdf(
                "genro-storage",
                [
                    "This PDF is served from the S3 mount through the app,",
                    "with ranges, ETags and conditional requests.",
                    "The same API reads and writes local folders, S3, GCS and Azure.",
                ],
            )
        )
    video = folder / "sample.webm"
    if not video.exists():
        if shutil.which("ffmpeg") is None:
            print("ffmpeg is not installed: no sample video (scripts/demo.sh installs it)", file=sys.stderr)
        else:
            print(f"making the sample video once ({VIDEO_SECONDS} s of VP9, about 20 s)...", flush=True)
            _video(video)
    return folder


def seed_samples(s3: dict[str, Any], folder: Path) -> str:
    """Copy the sample files to ``samples/`` on the S3 mount ``s3``; those already there
    with their size are skipped. Returns the transfer's summary."""
    from genro_storage import StorageManager

    storage = StorageManager()
    storage.configure([{"name": "cache", "type": "local", "path": str(folder)}, s3])
    report = storage.node("cache:").copy_to("s3:samples", skip="size", exclude="*.partial.*")
    return str(report)
