"""The SMTP listeners: `smtp` (the MX), `submissions` (implicit TLS) and `submission` (STARTTLS).

`server.py` calls `start_services(app)` once, which puts the shared `Delivery`
pipeline in `app.services["delivery"]` and starts the outbound queue runner
(`app.services["queue"]`), then `protocol_factory(app, name)` for
each configured listener. Each connection gets its own `SmtpSession` on the
net layer, which does the implicit TLS of `submissions` and holds the
listener's connection limits (the connection past one gets 421 4.7.0).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable

from postbus.app import App
from postbus.delivery.pipeline import Delivery
from postbus.net.connection import make_listener
from postbus.smtp.session import ListenerConfig, SmtpSession

SMTP_LISTENERS = ("smtp", "submission", "submissions")


async def start_services(app: App, *, queue: bool = True) -> None:
    """The shared delivery pipeline, and the outbound queue runner that drains what
    it queues (`queue=False` leaves the runner out, for tests that inspect the queue)."""
    delivery(app)
    if queue:
        try:
            runner = importlib.import_module("postbus.delivery.queue")
        except ModuleNotFoundError as exc:
            if exc.name != "postbus.delivery.queue":
                raise
            return
        await runner.start_queue(app)


def delivery(app: App) -> Delivery:
    """The app's shared delivery pipeline, made on first use."""
    existing = app.services.get("delivery")
    if isinstance(existing, Delivery):
        return existing
    made = Delivery(app)
    app.services["delivery"] = made
    return made


def listener_config(app: App, name: str) -> ListenerConfig:
    if name not in SMTP_LISTENERS:
        raise ValueError(f"{name!r} is not an SMTP listener")
    s = app.settings
    return ListenerConfig(
        name=name, hostname=s.hostname, max_message_size=s.max_message_size,
        command_timeout=s.duration("limits", "command_timeout"),
    )


def protocol_factory(app: App, name: str) -> Callable[[], asyncio.Protocol]:
    cfg = listener_config(app, name)
    pipeline = delivery(app)
    listener = make_listener(app, name)

    def make() -> asyncio.Protocol:
        return SmtpSession(app, cfg, pipeline, listener)

    return make
