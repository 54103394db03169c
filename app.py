"""The application factory: ``gunicorn 'app:create_app()'`` serves the hotline."""

from __future__ import annotations

from flask import Flask, Response

from callcenter.services import EXTENSION_KEY, Services
from callcenter.settings import Settings
from callcenter.webhooks import EXTENSION_KEY as WEBHOOKS_KEY
from callcenter.webhooks import MAX_REQUEST_BYTES, WebhookDispatcher


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for ``settings`` (default: from the environment); connects to nothing."""
    from callcenter import cli
    from handlers import views as complaint_views
    from ivr import context as ivr_context
    from ivr import views as ivr_views
    from queues import views as queue_views
    from recordings import views as recording_views
    from staff import views as staff_views

    settings = settings or Settings.from_env()
    settings.check_for_start()

    app = Flask(__name__)
    # No SECRET_KEY: the service keeps no cookie sessions (staff use bearer tokens), and
    # without one Flask opens no signed-cookie session on every request.
    app.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    services = Services.create(settings)
    app.extensions[EXTENSION_KEY] = services
    # Twilio's webhooks are served ahead of Flask's dispatch (callcenter/webhooks.py).
    webhooks = WebhookDispatcher(app, services)
    app.wsgi_app = webhooks  # type: ignore[method-assign]
    app.extensions[WEBHOOKS_KEY] = webhooks

    complaint_views.init_app(app)  # first: the IVR reads the complaints' repeat callers
    ivr_context.init_app(app, settings)
    ivr_views.init_app(app)
    queue_views.init_app(app)
    recording_views.init_app(app)
    staff_views.init_app(app)
    cli.init_app(app)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", mimetype="text/plain")

    return app
