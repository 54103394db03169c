"""The HTTP side of the stand-in's REST API: a small threaded server on 127.0.0.1.

It speaks HTTP/1.0 (one request per connection), so no idle keep-alive connection can hold
up shutdown, and it can misbehave on purpose for fault injection (see :mod:`.faults`).
Stopping releases every held request and joins every handler thread.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import Faults, MediaFault


@dataclass
class ApiRequest:
    """A parsed request: form fields keep repeated keys (``StatusCallbackEvent``)."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    auth: tuple[str, str] | None
    headers: dict[str, str]

    def value(self, name: str, default: str | None = None) -> str | None:
        values = self.form.get(name) or self.query.get(name)
        return values[-1] if values else default

    def values(self, name: str) -> list[str]:
        return self.form.get(name) or self.query.get(name) or []


@dataclass
class Reply:
    """What to answer; ``fault`` makes the server misbehave instead of answering properly."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    length: int | None = None
    fault: MediaFault | None = None

    @classmethod
    def json(cls, status: int, payload: dict[str, Any] | None) -> Reply:
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if payload else {}
        return cls(status, headers, body, len(body))


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return user, password


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "TwilioStandIn/1.0"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True) if raw else {}
        request = ApiRequest(method=self.command, path=parts.path,
                             query=parse_qs(parts.query, keep_blank_values=True), form=form,
                             auth=_basic_auth(self.headers.get("Authorization")),
                             headers={k.lower(): v for k, v in self.headers.items()})
        self._write(self.server.dispatch(request))

    do_GET = do_POST = do_DELETE = do_HEAD = _serve

    def _write(self, reply: Reply) -> None:
        if reply.fault is MediaFault.RESET:
            self._reset()
            return
        if reply.fault is MediaFault.TIMEOUT:
            self.server.faults.released.wait(self.server.faults.hang_seconds)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.length is not None:
            self.send_header("Content-Length", str(reply.length))
        self.end_headers()
        if self.command == "HEAD":
            return
        budget = reply.length // 2 if reply.fault is MediaFault.TRUNCATE and reply.length else None
        chunks = [reply.body] if isinstance(reply.body, bytes) else reply.body
        try:
            for chunk in chunks:
                if budget is not None:
                    chunk, budget = chunk[:budget], budget - min(budget, len(chunk))
                if chunk:
                    self.wfile.write(chunk)
                if budget == 0:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _reset(self) -> None:
        """Close the connection with a TCP reset and no response at all."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dispatch: Callable[[ApiRequest], Reply],
                 faults: Faults) -> None:
        super().__init__(address, _Handler)
        self.dispatch = dispatch
        self.faults = faults

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client that went away mid-response is not an error worth printing


class RestServer:
    """Runs the REST API in a background thread."""

    def __init__(self, dispatch: Callable[[ApiRequest], Reply], faults: Faults,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self._faults = faults
        self._host = host
        self._httpd = _Server((host, port), dispatch, faults)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="twilio-standin-rest", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._httpd.server_address[1]}"

    def start(self) -> None:
        self._faults.released.clear()
        self._thread.start()

    def stop(self) -> None:
        self._faults.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
