"""Public/local URL mapping and Twilio-style URL resolution.

The application under test runs on a local address but sits, in production, behind a proxy
at a public base URL.  Twilio signs and sends to the public URL; the stand-in signs for the
public URL and delivers to the local one.  Relative URLs in TwiML resolve against the
(public) URL of the document that contained them, as Twilio resolves them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit


@dataclass(frozen=True)
class UrlMapping:
    """One proxy rule: requests for ``public_base`` go to ``local_base``."""

    public_base: str
    local_base: str


def _under(url: str, base: str) -> bool:
    return url == base or url.startswith((base + "/", base + "?"))


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class UrlMap:
    """The set of public→local mappings known to a stand-in."""

    def __init__(self) -> None:
        self._mappings: list[UrlMapping] = []
        self._lock = threading.Lock()

    def add(self, public_base: str, local_base: str) -> None:
        mapping = UrlMapping(public_base.rstrip("/"), local_base.rstrip("/"))
        with self._lock:
            if mapping not in self._mappings:
                self._mappings.append(mapping)

    def _snapshot(self) -> list[UrlMapping]:
        with self._lock:
            return list(self._mappings)

    def to_local(self, url: str) -> str:
        """Where a request for this (public) URL is actually delivered."""
        for m in self._snapshot():
            if _under(url, m.public_base):
                return m.local_base + url[len(m.public_base):]
        return url

    def to_public(self, url: str) -> str:
        """The URL Twilio would use (and sign) for a local URL."""
        for m in self._snapshot():
            if _under(url, m.local_base):
                return m.public_base + url[len(m.local_base):]
        return url

    def hidden_behind_proxy(self, url: str) -> bool:
        """True for a local address that, in production, only the proxy can reach."""
        return any(_under(url, m.local_base) and m.local_base != m.public_base
                   for m in self._snapshot())


def resolve(document_url: str | None, reference: str) -> str:
    """Resolve a TwiML URL against the URL of the document that contained it."""
    reference = reference.strip()
    if urlsplit(reference).scheme in ("http", "https"):
        return reference
    if document_url is None:
        raise ValueError(f"relative URL {reference!r} has no document URL to resolve against")
    return urljoin(document_url, reference)


def with_query(url: str, params: dict[str, str]) -> str:
    """Append parameters to a URL's query string (how GET webhooks carry them)."""
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
