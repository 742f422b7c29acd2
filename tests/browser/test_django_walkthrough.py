"""The Django example's documented steps, scripted: ``check --deploy``, and the
``storage_migrate`` walk-through of example_projects/django_site/MIGRATION.md moving the
uploads from the local mount to S3 while the site keeps serving them."""

from __future__ import annotations

import hashlib
import html
import re
import threading
import urllib.error
import urllib.request

from browser_helpers import Example, run_manage

#: What a demo on plain HTTP cannot have: HSTS, the HTTPS redirect, secure cookies.
HTTPS_ONLY = {"security.W004", "security.W008", "security.W012", "security.W016"}
FIGURE = re.compile(
    r'<figure class="photo" data-title="([^"]*)">\s*<a href="([^"]+)"><img class="thumbnail" src="([^"]+)"'
)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def gallery(example: Example) -> dict[str, tuple[str, str]]:
    """Each photo's title -> (picture URL, thumbnail URL), as the gallery page links them."""
    status, page = get(example.url + "/")
    assert status == 200
    found = FIGURE.findall(page.decode())
    return {html.unescape(title): (html.unescape(image), html.unescape(thumb)) for title, image, thumb in found}


def digests(example: Example, links: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    served = {}
    for title, urls in links.items():
        pair = []
        for url in urls:
            status, body = get(example.url + url)
            assert status == 200, (url, status)
            pair.append(hashlib.sha256(body).hexdigest())
        served[title] = tuple(pair)
    return served


class Visitor(threading.Thread):
    """Loads the gallery and every file it links, again and again, noting each failure."""

    def __init__(self, example: Example):
        super().__init__(daemon=True)
        self.example, self.passes, self.failures = example, 0, []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for title, urls in gallery(self.example).items():
                for url in urls:
                    status, _ = get(self.example.url + url)
                    if status != 200:
                        self.failures.append((title, url, status))
            self.passes += 1


def test_check_deploy_asks_only_for_what_plain_http_cannot_have(django_example: Example):
    result = run_manage(django_example, "check", "--deploy")
    assert result.returncode == 0, result.stderr
    assert set(re.findall(r"\((security\.\w+)\)", result.stdout + result.stderr)) == HTTPS_ONLY


def test_storage_migrate_walkthrough_moves_uploads_to_s3_while_serving(django_example: Example):
    before = gallery(django_example)
    assert len(before) >= 3 and all(image.startswith("/files/local/") for image, _ in before.values())
    served_before = digests(django_example, before)

    dry = run_manage(django_example, "storage_migrate", "gallery.Photo.image", "--to", "s3", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would copy {len(before)} files" in dry.stdout
    assert gallery(django_example) == before

    visitor = Visitor(django_example)
    visitor.start()
    outputs = []
    try:
        for field in ("gallery.Photo.image", "gallery.Photo.thumbnail", "gallery.Document.file"):
            passes = visitor.passes
            result = run_manage(django_example, "storage_migrate", field, "--to", "s3", "--delete-source")
            assert result.returncode == 0, result.stdout + result.stderr
            outputs.append(result.stdout)
        while visitor.passes <= passes:
            visitor.join(0.1)  # a whole pass after the last migration, too
    finally:
        visitor.done.set()
        visitor.join(60)
    assert f"rows: {len(before)} rewritten" in outputs[0] and f"rows: {len(before)} rewritten" in outputs[1]
    assert all(", failed 0," in output for output in outputs)

    after = gallery(django_example)
    assert set(after) == set(before)
    assert all(image.startswith("/files/s3/") and thumb.startswith("/files/s3/") for image, thumb in after.values())
    assert digests(django_example, after) == served_before
    # A page rendered just before its row moved links a file deleted since: reloading it
    # links the copy. Nothing else failed.
    assert all(status == 404 and url.startswith("/files/local/") for _, url, status in visitor.failures)
    status, documents = get(django_example.url + "/documents/")
    files = re.findall(r'<td><a href="(/files/[^"]+)">', documents.decode())
    assert status == 200 and files and all(link.startswith("/files/s3/docs/") for link in files)
    left = run_manage(django_example, "storage_ls", "-R", "local:")
    assert [line for line in left.stdout.splitlines() if not line.endswith("/")] == []
