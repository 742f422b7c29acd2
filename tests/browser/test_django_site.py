"""The Django example: in a real browser, log in to the admin, upload an image, see its
thumbnail in the gallery; over HTTP, the video page's signed links to the S3 video."""

from __future__ import annotations

import html
import os
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from browser_helpers import Example
from PIL import Image

#: The thumbnails' largest side (gallery/thumbnails.py).
THUMBNAIL_SIZE = 320


def log_in(page, example: Example) -> None:
    password = (example.state / "django" / "admin-password").read_text().strip()
    page.goto(example.url + "/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(example.url + "/admin/")


def test_admin_upload_appears_as_a_thumbnail_in_the_gallery(django_example: Example, page, tmp_path: Path):
    picture = tmp_path / "lighthouse.png"
    Image.new("RGB", (1600, 1000), (200, 60, 30)).save(picture)
    title = f"Lighthouse {uuid.uuid4().hex[:8]}"

    log_in(page, django_example)
    page.goto(django_example.url + "/admin/gallery/photo/add/")
    page.fill("#id_title", title)
    page.set_input_files("#id_image", str(picture))
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    assert title in page.locator(".messagelist").inner_text()

    page.goto(django_example.url + "/")
    thumbnail = page.locator(f'figure.photo[data-title="{title}"] img.thumbnail')
    thumbnail.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    width, height = thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert (width, height) == (THUMBNAIL_SIZE, THUMBNAIL_SIZE * 1000 // 1600)  # made from the upload, not it
    assert thumbnail.get_attribute("src").startswith("/files/local/thumbs/photos/lighthouse")
    caption = page.locator(f'figure.photo[data-title="{title}"] figcaption').inner_text()
    assert "local" in caption and "1600×1000" in caption


def test_the_video_page_serves_the_s3_video_by_ranges_through_signed_urls(django_example: Example):
    with urllib.request.urlopen(django_example.url + "/media/", timeout=30) as response:
        page = response.read().decode()
    src = html.unescape(re.search(r'<video [^>]*src="([^"]+)"', page).group(1))
    assert src.startswith("/files/s3/samples/sample.webm?expires=")

    ranged = urllib.request.Request(django_example.url + src, headers={"Range": "bytes=1000000-1000099"})
    with urllib.request.urlopen(ranged, timeout=30) as response:
        assert response.status == 206
        assert re.fullmatch(r"bytes 1000000-1000099/\d{8,}", response.headers["Content-Range"])
        assert len(response.read()) == 100
    tampered = src[:-1] + ("A" if src[-1] != "A" else "B")
    for refused in (src.split("?")[0], tampered):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(django_example.url + refused, timeout=30)
        assert error.value.code == 403


def test_a_document_uploaded_on_the_upload_page_downloads_through_serve_node(
    django_example: Example, page, tmp_path: Path
):
    content = os.urandom(3_000_000)  # past FILE_UPLOAD_MAX_MEMORY_SIZE: spooled, then streamed to the mount
    sent = tmp_path / "minutes.bin"
    sent.write_bytes(content)
    title = f"Minutes {uuid.uuid4().hex[:8]}"

    log_in(page, django_example)
    page.goto(django_example.url + "/upload/")
    page.fill("#id_document-title", title)
    page.set_input_files("#id_document-file", str(sent))
    page.click("button[name=kind][value=document]")
    page.wait_for_url(django_example.url + "/documents/")
    row = page.locator("tr", has_text=title)
    assert "local" in row.inner_text()
    with page.expect_download() as started:
        row.locator("a", has_text="download").click()
    assert started.value.suggested_filename.startswith("minutes")
    assert Path(started.value.path()).read_bytes() == content
