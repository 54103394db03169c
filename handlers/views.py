"""HTTP views of the `handlers` package."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("handlers", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
