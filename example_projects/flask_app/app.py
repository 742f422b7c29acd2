"""The example Flask app: a local folder and an S3 bucket side by side.

``/`` lists the files of both mounts with download links and a button copying each to
the other mount, and takes uploads; ``/media`` plays a video and shows a PDF from the S3
mount. Every file goes out through ``ext.serve()`` (ranges, ETags, conditional requests),
so the browser's own Range requests reach the core responder. It is a demo: anyone who
can reach it may read, upload and copy (a real app checks access in these views first).

``create_app()`` is the factory gunicorn runs (``run.py flask``); the mounts come from
``embedded.mounts()``: the state directory and the S3 that ``GENRO_S3_*`` describe.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, session, url_for

EXAMPLES = Path(__file__).resolve().parents[1]
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))  # embedded.py, shared with the Django site

from embedded import mounts, persistent_secret, state_dir  # noqa: E402

from genro_storage import StorageError  # noqa: E402
from genro_storage_flask import GenroStorage, safe_name  # noqa: E402

#: The two mounts, each with the one its files are copied to.
OTHER = {"local": "s3", "s3": "local"}
#: Where uploads go in each mount.
UPLOADS = "uploads"
#: The samples run.py puts on the S3 mount.
VIDEO, PDF = "s3:samples/sample.webm", "s3:samples/guide.pdf"

ext = GenroStorage()
pages = Blueprint("pages", __name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    state = state_dir("flask")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=persistent_secret(state / "secret-key"),
        GENRO_STORAGE_MOUNTS=mounts(state / "files"),
        MAX_CONTENT_LENGTH=1024**3,
    )
    app.config.update(config or {})
    ext.init_app(app)
    app.register_blueprint(pages)
    return app


# -- a session token on every form, so another site cannot post to these -------------------


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


@pages.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token}


@pages.before_app_request
def _check_csrf() -> None:
    if request.method == "POST" and not secrets.compare_digest(
        request.form.get("csrf", ""), session.get("csrf", "") or "-"
    ):
        abort(400, "the form's session token is missing or stale: reload the page")


# -- pages ---------------------------------------------------------------------------------


def files_of(mount: str) -> list[dict[str, Any]]:
    """Every file of ``mount``, by path: one recursive listing (one request on S3)."""
    found = [
        {"path": path, "size": info.get("size") or 0, "mount": mount}
        for path, info in ext.node(f"{mount}:").walk_files()
        if info.get("type") != "directory"
    ]
    return sorted(found, key=lambda entry: entry["path"])


@pages.get("/")
def index() -> str:
    listing = {mount: files_of(mount) for mount in OTHER}
    return render_template("index.html", listing=listing, other=OTHER)


@pages.get("/media")
def media() -> str:
    return render_template("media.html", video=ext.node(VIDEO), pdf=ext.node(PDF))


@pages.get("/files/<mount>/<path:path>")
def file(mount: str, path: str) -> Any:
    """A file of a mount, inline or (``?download=1``) as an attachment."""
    if mount not in OTHER:
        abort(404)
    return ext.serve(f"{mount}:{path}", as_attachment=request.args.get("download") == "1")


@pages.post("/upload")
def upload() -> Any:
    mount = request.form.get("mount", "")
    sent = request.files.get("file")
    if mount not in OTHER or sent is None or not sent.filename:
        abort(400, "choose a file and a mount")
    try:
        node = ext.node(mount, UPLOADS, safe_name(sent.filename))
    except ValueError as exc:
        abort(400, str(exc))
    try:
        # Published whole when complete, and only if no file has the name by then.
        with node.open("xb") as out:
            shutil.copyfileobj(sent.stream, out, 1024 * 1024)
    except FileExistsError:
        flash(f"{node.fullpath} exists already: rename the file first", "error")
    else:
        flash(f"uploaded {node.fullpath} ({node.size} bytes)")
    return redirect(url_for(".index"))


@pages.post("/copy")
def copy() -> Any:
    mount, path = request.form.get("mount", ""), request.form.get("path", "")
    if mount not in OTHER or not path:
        abort(400, "copy needs a mount and a path")
    try:
        source = ext.node(mount, path)
        report = source.copy_to(f"{OTHER[mount]}:{source.path}", skip="hash")
    except (StorageError, ValueError, OSError) as exc:
        flash(f"copy failed: {exc}", "error")
    else:
        flash(str(report))
    return redirect(url_for(".index"))
