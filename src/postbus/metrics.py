"""Prometheus metrics (issue 16 item 4), through the well-kept `prometheus-client`.

`postbus serve` calls :func:`start` before it serves: from then on every
process of the server (each worker too) counts into files under
``DATA_DIR/run/metrics`` (prometheus-client's multiprocess mode), and a scrape
adds them up, whichever process answers it. Before :func:`start` (the unit
tests, the command line) the recording calls do nothing.

What is counted (docs/metrics.md lists every series):

- connections accepted and open, per protocol and listener (`net/connection.py`);
- logins, ok or failed, per protocol (`security/logins.py`);
- messages accepted, recipients delivered (locally or to a remote MX), deferred
  and bounced (`delivery/`);
- command latency per protocol (`imap/`, `pop3/`, `smtp/` sessions);
- store write-transaction latency and the SQLite writer's queue depth (`store/`);
- at scrape time: the outbound queue's length and oldest item's age, and the
  days left on the certificate every TLS listener serves.

Every label value comes from a fixed set of ours (listener names, protocol
names, outcomes), never from a client, so the number of series is bounded.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Command latency buckets, in seconds: a command is a few milliseconds; a
# large SEARCH or an fsync'd DATA may take a second.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0, 10.0)
# The outcomes a message or recipient is counted under.
MESSAGE_EVENTS = ("accepted", "delivered", "deferred", "bounced")


@dataclass(slots=True)
class _Series:
    connections: Any
    connections_open: Any
    logins: Any
    messages: Any
    command_seconds: Any
    store_seconds: Any
    writer_queue: Any


_series: _Series | None = None
_directory: Path | None = None


def start(directory: Path) -> None:
    """Counts from now on into files in ``directory``, emptied first (call once per
    server start, before any worker is made: workers inherit the setting)."""
    global _series, _directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import Counter, Gauge, Histogram, values

    values.ValueClass = values.MultiProcessValue()
    _directory = directory
    _series = _Series(
        connections=Counter("postbus_connections", "Client connections accepted.",
                            ["proto", "listener"]),
        connections_open=Gauge("postbus_connections_open", "Client connections open now.",
                               ["proto", "listener"], multiprocess_mode="livesum"),
        logins=Counter("postbus_logins", "Logins by outcome (ok, failed).", ["proto", "result"]),
        messages=Counter("postbus_messages",
                         "Messages accepted; recipients delivered, deferred or bounced.",
                         ["event"]),
        command_seconds=Histogram("postbus_command_seconds",
                                  "Time from a command's arrival to its reply.", ["proto"],
                                  buckets=LATENCY_BUCKETS),
        store_seconds=Histogram("postbus_store_transaction_seconds",
                                "Time a store write takes, queueing included.", ["backend"],
                                buckets=LATENCY_BUCKETS),
        writer_queue=Gauge("postbus_store_writer_queue",
                           "Write jobs waiting for the SQLite writer.",
                           multiprocess_mode="livesum"),
    )


def started() -> bool:
    return _series is not None


def process_died(pid: int) -> None:
    """Drops a dead process's live gauges (its connections are gone)."""
    if _directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(_directory))


# -- recording (no-ops until start) ----------------------------------------------------
def connection_opened(proto: str, listener: str) -> None:
    if _series is not None:
        _series.connections.labels(proto, listener).inc()
        _series.connections_open.labels(proto, listener).inc()


def connection_closed(proto: str, listener: str) -> None:
    if _series is not None:
        _series.connections_open.labels(proto, listener).dec()


def login(proto: str, ok: bool) -> None:
    if _series is not None:
        _series.logins.labels(proto, "ok" if ok else "failed").inc()


def message(event: str, count: int = 1) -> None:
    if _series is not None and count:
        _series.messages.labels(event).inc(count)


def command_done(proto: str, started_at: float) -> None:
    if _series is not None:
        _series.command_seconds.labels(proto).observe(time.perf_counter() - started_at)


def store_done(backend: str, started_at: float) -> None:
    if _series is not None:
        _series.store_seconds.labels(backend).observe(time.perf_counter() - started_at)


def writer_queue(delta: int) -> None:
    if _series is not None:
        _series.writer_queue.inc(delta)


# -- scraping -----------------------------------------------------------------------
@dataclass(slots=True)
class Snapshot:
    """What is read at scrape time rather than counted."""

    queue_length: int
    queue_oldest_age: float
    certificate_days_left: float | None


def render(snapshot: Snapshot) -> bytes:
    """The exposition text of every process's series and the snapshot (blocking:
    it reads the processes' files; run it off the event loop)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector

    class _Now(Collector):
        def collect(self) -> Iterator[GaugeMetricFamily]:
            yield GaugeMetricFamily("postbus_queue_length", "Items in the outbound queue.",
                                    value=snapshot.queue_length)
            yield GaugeMetricFamily("postbus_queue_oldest_age_seconds",
                                    "Age of the oldest item in the outbound queue (0 when empty).",
                                    value=snapshot.queue_oldest_age)
            if snapshot.certificate_days_left is not None:
                yield GaugeMetricFamily("postbus_certificate_days_left",
                                        "Days until the served TLS certificate expires.",
                                        value=snapshot.certificate_days_left)

    registry = CollectorRegistry()
    if _directory is not None:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, str(_directory))
    registry.register(_Now())
    return bytes(generate_latest(registry))

