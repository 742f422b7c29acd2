"""The Flask example in a real browser: upload, list, download, copy to S3, play a video by ranges."""

from __future__ import annotations

import os
from pathlib import Path

from browser_helpers import Example, content_length

#: Seconds before the end of the sample video the test seeks to.
BEFORE_END = 4


def row(page, mount: str, path: str):
    return page.locator(f'#mount-{mount} tr[data-path="{path}"]')


def download(page, link) -> bytes:
    with page.expect_download() as started:
        link.click()
    return Path(started.value.path()).read_bytes()


def test_upload_list_download_and_copy_to_s3(flask_example: Example, page, tmp_path: Path):
    content = os.urandom(700_000) + "é, a name the browser sends as UTF-8".encode()
    sent = tmp_path / "quarterly report.bin"
    sent.write_bytes(content)
    page.goto(flask_example.url + "/")

    page.set_input_files("#upload-form input[type=file]", str(sent))
    page.select_option("#upload-form select[name=mount]", "local")
    page.click("#upload-form button[type=submit]")
    local_row = row(page, "local", "uploads/quarterly report.bin")
    local_row.wait_for()
    assert local_row.locator("td.size").inner_text() == str(len(content))
    assert "uploaded local:uploads/quarterly report.bin" in page.locator(".flash").inner_text()
    assert download(page, local_row.locator("a.download")) == content

    local_row.locator("button.copy").click()
    s3_row = row(page, "s3", "uploads/quarterly report.bin")
    s3_row.wait_for()
    assert "copied 1 file" in page.locator(".flash").inner_text()
    assert row(page, "local", "uploads/quarterly report.bin").count() == 1  # a copy, not a move
    assert download(page, s3_row.locator("a.download")) == content
    downloads = [hit for hit in flask_example.hits() if "download=1" in hit.target]
    assert [hit.status for hit in downloads[-2:]] == [200, 200]
    assert downloads[-1].target.startswith("/files/s3/uploads/")


def test_video_from_s3_plays_after_a_seek_by_ranges(flask_example: Example, page):
    page.goto(flask_example.url + "/media")
    video = page.locator("#video")
    video.wait_for()
    page.wait_for_function("document.getElementById('video').readyState >= 1")  # metadata: duration known
    duration = page.evaluate("document.getElementById('video').duration")
    assert duration > 30, duration
    before = len(flask_example.hits())

    target = duration - BEFORE_END
    page.evaluate(
        """target => { const v = document.getElementById('video'); v.muted = true;
                      v.currentTime = target; return v.play(); }""",
        target,
    )
    page.wait_for_function(
        "target => { const v = document.getElementById('video'); return !v.seeking && v.currentTime >= target; }",
        arg=target,
    )
    reached = page.evaluate("document.getElementById('video').currentTime")
    page.wait_for_function(
        "start => { const v = document.getElementById('video'); return !v.paused && v.currentTime > start + 0.5; }",
        arg=reached,
    )

    size = content_length(flask_example.url + "/files/s3/samples/sample.webm")
    video = "/files/s3/samples/sample.webm"
    after_seek = [hit for hit in flask_example.hits()[before:] if hit.target.startswith(video)]
    ranged = [hit for hit in after_seek if hit.status == 206 and hit.first_byte]
    assert ranged, f"no 206 answered after the seek: {after_seek}"
    # The seek was near the end: the browser asked for a range starting in the last half.
    assert max(hit.first_byte for hit in ranged) > size // 2, ranged


def test_pdf_from_s3_is_shown_in_the_page(flask_example: Example, page):
    before = len(flask_example.hits())
    page.goto(flask_example.url + "/media")
    src = page.locator("#pdf").get_attribute("src")
    page.wait_for_load_state("load")  # the iframe's document too
    shown = [hit for hit in flask_example.hits()[before:] if hit.target == src]
    assert shown and shown[0].status == 200, shown
    response = page.request.get(flask_example.url + src)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
