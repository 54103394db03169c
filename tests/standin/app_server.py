"""A tiny Flask app served over real HTTP for the stand-in's tests.

Tests register a handler per path (``server.on("/voice", handler)``); a handler gets the
recorded :class:`Hit` and returns a ``VoiceResponse``, a string, a ``(body, status)`` pair
or a Flask response.  Every request is recorded, with its headers, for assertions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server


@dataclass
class Hit:
    """One request the app received."""

    method: str
    path: str
    url: str
    form: dict[str, str]
    args: dict[str, str]
    headers: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        """The Twilio parameters, wherever they travelled (body for POST, query for GET)."""
        return self.form if self.method == "POST" else self.args


Handler = Callable[[Hit], Any]


class AppServer:
    """The Flask app and its server thread."""

    def __init__(self) -> None:
        self.app = Flask("standin-test-app")
        self.handlers: dict[str, Handler] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self.app.add_url_rule("/<path:path>", "any", self._dispatch, methods=["GET", "POST"])
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def reset(self) -> None:
        with self._lock:
            self.handlers.clear()
            self.hits.clear()

    def on(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    def twiml(self, path: str, build: Callable[[VoiceResponse, Hit], None]) -> None:
        """Shortcut: a handler that fills a fresh ``VoiceResponse``."""

        def handler(hit: Hit) -> VoiceResponse:
            response = VoiceResponse()
            build(response, hit)
            return response

        self.on(path, handler)

    def url(self, path: str) -> str:
        return self.base_url + path

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def _dispatch(self, path: str) -> Any:
        hit = Hit(method=request.method, path="/" + path, url=request.url,
                  form=request.form.to_dict(), args=request.args.to_dict(),
                  headers=dict(request.headers))
        with self._lock:
            self.hits.append(hit)
        handler = self.handlers.get(hit.path)
        if handler is None:
            return Response("<Response/>", mimetype="text/xml")
        result = handler(hit)
        if isinstance(result, VoiceResponse):
            return Response(str(result), mimetype="text/xml")
        if isinstance(result, str):
            return Response(result, mimetype="text/xml")
        return result
