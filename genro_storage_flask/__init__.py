"""genro-storage for Flask: mounts from ``app.config``, ``send_node()``, a blueprint that
serves (and lists, and takes uploads), and ``flask storage`` commands.

>>> from flask import Flask
>>> from genro_storage_flask import GenroStorage
>>> app = Flask(__name__)
>>> app.config["GENRO_STORAGE_MOUNTS"] = [{"name": "scratch", "type": "memory"}]
>>> ext = GenroStorage(app)
"""

from .blueprint import storage_blueprint
from .config import DEFAULTS
from .extension import GenroStorage
from .helpers import send_node
from .names import safe_name

__all__ = ["GenroStorage", "send_node", "storage_blueprint", "safe_name", "DEFAULTS"]
