"""Recordings kept as evidence: none lost, none silently altered.

* ``capture`` — the recorded ``<Dial>`` attributes and callback URL; pause and resume.
* ``callbacks``, ``views`` — Twilio's status callbacks, idempotent and order-proof.
* ``twilio_media``, ``downloads``, ``jobs``, ``policy`` — fetching the media, verifying and
  storing it, retries, the sweep that survives lost jobs, alerts when it keeps failing.
* ``storage`` — the local-directory and S3-compatible backends; ``media`` — format checks.
* ``integrity``, ``retention`` — re-hashing what is stored; purging past retention.
* ``links``, ``access``, ``api`` — calls, seats, callers and complaints; who may listen;
  the staff API with HTTP ranges and the access log.
"""
