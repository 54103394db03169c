"""The queues package's part of the app: its routing configuration and Redis index.

Loaded once per app by :func:`init_app`; the index is built on first use from the app's
Redis connection (nothing connects at import or start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app

from callcenter.services import Services, services
from queues.config import RoutingConfig, load_routing_config
from queues.index import RedisIndex

EXTENSION_KEY = "queues"
INDEX_NAMESPACE = "callq"


@dataclass
class QueuesExtension:
    """Per-app state of the hold queues: the configuration and the (lazily built) index."""

    config: RoutingConfig
    _index: RedisIndex | None = field(default=None, repr=False)

    def index(self, svc: Services) -> RedisIndex:
        if self._index is None:
            self._index = RedisIndex(svc.redis, self.config.policy, namespace=INDEX_NAMESPACE)
        return self._index


def init_app(app: Flask, config_path: str | Path | None = None) -> None:
    """Load the routing file (the shipped one unless ``config_path``) into the app."""
    app.extensions[EXTENSION_KEY] = QueuesExtension(load_routing_config(config_path))


def extension() -> QueuesExtension:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def routing_config() -> RoutingConfig:
    return extension().config


def routing_index() -> RedisIndex:
    """The app's routing index on its Redis."""
    return extension().index(services())
