"""The app the wire tests run under gunicorn: config from GS_FLASK_CONFIG (JSON)."""

import json
import os
import resource

from flask import Flask

from genro_storage_flask import GenroStorage


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(json.loads(os.environ["GS_FLASK_CONFIG"]))
    ext = GenroStorage(app)

    @app.route("/serve/<mount>/<path:path>")
    def serve(mount, path):
        return ext.serve(f"{mount}:{path}", download_name="résumé 2024.pdf")

    @app.route("/peak-rss")
    def peak_rss():
        return str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)

    @app.errorhandler(404)
    def not_found(error):
        return "the app's own 404 page", 404

    app.register_blueprint(ext.blueprint(listing=True, upload=True, authorize=lambda node, action: True))
    return app
