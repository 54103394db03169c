"""<Enqueue>/<Leave>/<Dial><Queue>: hold, waitUrl parameters, REST redirect, bridging."""

from __future__ import annotations

from twilio.twiml.voice_response import Dial, Enqueue, Gather

from twilio_standin import CallScript, hangup, press, wait

from .conftest import CALLER, NUMBER, PUBLIC

AGENT_NUMBER = "+864009999999"


def queue_app(app, *, wait_build=None):
    def voice(r, hit):
        r.say("正在为您转接人工。")
        r.enqueue("support", action="/queue-done", wait_url="/hold")

    def hold(r, hit):
        r.say(f"您前面还有{int(hit.form['QueuePosition']) - 1}位。")
        r.pause(length=20)

    app.twiml("/voice", voice)
    app.twiml("/hold", wait_build or hold)
    app.twiml("/queue-done", lambda r, hit: r.say(f"结果{hit.form['QueueResult']}"))
    app.twiml("/rescued", lambda r, hit: r.say("已为您转到留言。"))


def test_wait_url_gets_queue_parameters_and_loops(app, standin):
    queue_app(app)
    result = standin.call(CALLER, NUMBER, CallScript([wait(50), hangup()]), timeout=10)

    holds = app.hits_for("/hold")
    assert len(holds) == 3  # 1.5 s + 20 s per round: rounds start at 0, 21.5, 43
    first, second = holds[0].form, holds[1].form
    assert first["QueuePosition"] == "1"
    assert first["CurrentQueueSize"] == "1"
    assert first["MaxQueueSize"] == "100"
    assert first["QueueSid"].startswith("QU")
    assert first["QueueTime"] == "0"
    assert second["QueueTime"] == "22"
    assert "AvgQueueTime" in first
    assert result.hung_up_by == "caller"
    done = app.hits_for("/queue-done")[0].form
    assert done["QueueResult"] == "hangup"
    assert done["QueueSid"] == first["QueueSid"]
    assert done["QueueTime"] == "48"  # hung up at 50 s, enqueued after the 2.25 s prompt
    enqueue = result.events("enqueue")[0]
    assert enqueue.data["queue"] == "support"
    assert result.events("queue-result")[0].data == {"queue": "support", "result": "hangup",
                                                       "queue_time": 48}
    assert standin.queue_size("support") == 0


def test_rest_redirect_takes_the_caller_out_of_the_queue(app, standin, client):
    queue_app(app)
    handle = standin.start_call(CALLER, NUMBER, CallScript([]))
    assert standin.wait_for_queue("support", 1)
    call = client.calls(handle.sid).update(url=f"{PUBLIC}/rescued", method="POST")
    assert call.sid == handle.sid
    result = handle.wait(10)

    assert result.ok, result.error
    assert result.said()[-1] == "已为您转到留言。"
    assert app.hits_for("/queue-done")[0].form["QueueResult"] == "redirected"
    assert "结果redirected" not in result.said()
    rest = [e for e in result.events("redirect") if e.data["by"] == "rest"]
    assert rest[0].data["url"] == f"{PUBLIC}/rescued"
    assert standin.queue_size("support") == 0


def test_leave_from_a_gather_in_the_wait_url(app, standin):
    def hold(r, hit):
        g = Gather(num_digits=1, action="/hold-choice", timeout=3)
        g.say("留言请按1。")
        r.append(g)

    queue_app(app, wait_build=hold)
    app.twiml("/hold-choice", lambda r, hit: r.leave())
    result = standin.call(CALLER, NUMBER, CallScript([press("1")]), timeout=10)

    assert app.hits_for("/hold-choice")[0].form["QueuePosition"] == "1"
    assert app.hits_for("/queue-done")[0].form["QueueResult"] == "leave"
    assert result.said()[-1] == "结果leave"
    assert result.events("leave")[0].data["queue"] == "support"


def test_wait_url_may_not_dial(app, standin):
    queue_app(app, wait_build=lambda r, hit: r.dial("+8613900000000"))
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert not result.ok
    assert "<Dial> is not allowed in a waitUrl document" in result.error
    assert standin.queue_size("support") == 0


def test_caller_gives_up_after_patience(app, standin):
    queue_app(app)
    result = standin.call(CALLER, NUMBER, CallScript([], patience=45), timeout=10)
    assert result.hung_up_by == "caller"
    assert app.hits_for("/queue-done")[0].form["QueueTime"] == "45"
    assert "gave up" in result.events("hangup")[0].summary


def test_agent_dials_the_queue_and_talks(app, standin):
    queue_app(app)
    standin.add_number(AGENT_NUMBER, voice_url=app.url("/agent"), public_base_url=PUBLIC)

    def agent(r, hit):
        d = Dial(action="/agent-done", record="record-from-answer-dual")
        d.queue("support", url="/about-to-connect")
        r.append(d)

    app.twiml("/agent", agent)
    app.twiml("/about-to-connect", lambda r, hit: r.say("即将为您接通客服。"))
    app.twiml("/agent-done", lambda r, hit: r.say("通话结束"))
    customer = standin.start_call(CALLER, NUMBER, CallScript([]))
    assert standin.wait_for_queue("support", 1)
    agent_result = standin.call("+8613700000000", AGENT_NUMBER,
                                CallScript([wait(30), hangup()]), timeout=10)
    customer_result = customer.wait(10)

    assert agent_result.ok, agent_result.error
    assert customer_result.ok, customer_result.error
    connect = app.hits_for("/about-to-connect")[0].form
    assert connect["CallSid"] == customer.sid
    assert connect["DequeingCallSid"] == agent_result.sid
    done = app.hits_for("/agent-done")[0].form
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallSid"] == customer.sid
    assert done["DialBridged"] == "true"
    assert done["CallStatus"] == "completed"  # the agent hung up: the answer is not played
    # The agent hangs up 30 s into its call; the customer's announcement (2.25 s) and the
    # real time of its webhook (scaled up) come first, so the talk lasts a bit under 28 s.
    assert 20 <= int(done["DialCallDuration"]) <= 28
    assert done["RecordingUrl"].endswith(standin.recordings[0].sid)
    queue_done = app.hits_for("/queue-done")[0].form
    assert queue_done["QueueResult"] == "bridged"
    assert customer_result.said()[-2:] == ["即将为您接通客服。", "结果bridged"]
    assert agent_result.hung_up_by == "caller"
    assert len(standin.recordings) == 1 and standin.recordings[0].channels == 2


def test_dialling_an_unknown_queue_fails(app, standin):
    def voice(r, hit):
        d = Dial(action="/dial-done")
        d.queue("nobody-here")
        r.append(d)

    app.twiml("/voice", voice)
    app.twiml("/dial-done", lambda r, hit: r.hangup())
    standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert app.hits_for("/dial-done")[0].form["DialCallStatus"] == "failed"


def test_queue_full(app, standin):
    def voice(r, hit):
        e = Enqueue("tiny", action="/queue-done")
        r.append(e)

    app.twiml("/voice", voice)
    app.twiml("/queue-done", lambda r, hit: r.say(hit.form["QueueResult"]))
    standin.settings.queue_max_size = 1
    first = standin.start_call(CALLER, NUMBER, CallScript([]))
    assert standin.wait_for_queue("tiny", 1)
    second = standin.call("+8613800000002", NUMBER, CallScript([]), timeout=10)
    assert second.said() == ["queue-full"]
    standin.hangup(first.sid)
    assert first.wait(10).hung_up_by == "caller"
