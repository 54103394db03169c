"""HTTP views of the `staff` package."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("staff", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
