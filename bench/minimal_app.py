"""The yardstick: a bare Flask app answering a fixed TwiML menu, nothing checked or stored."""

from __future__ import annotations

from flask import Flask, Response
from twilio.twiml.voice_response import VoiceResponse


def create_app() -> Flask:
    app = Flask(__name__)
    response = VoiceResponse()
    gather = response.gather(action="/ivr/menu?node=main&attempt=1", num_digits=1)
    gather.say("业务咨询请按1，投诉请按2，报修请按3，查询投诉处理结果请按4。", language="cmn-CN")
    body = str(response)

    @app.post("/voice/incoming")
    @app.post("/ivr/menu")
    def menu() -> Response:
        return Response(body, mimetype="text/xml")

    return app
