"""Authentication of mail arriving on the MX: SPF, DKIM and DMARC in one header.

`authentication_results` is what the SMTP session calls once DATA is complete;
it returns the `Authentication-Results:` field (RFC 8601) to prepend. It is
bounded in time (`INBOUND_TIMEOUT` for everything, the resolver's own timeout
per lookup) and never raises for anything the sender or DNS can cause: a
lookup that fails or does not finish in time is reported as temperror, and
delivery goes on. SPF and DKIM run concurrently; DMARC needs both.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from postbus.mailauth import dkim, dmarc, spf
from postbus.mailauth.authres import ResInfo, header
from postbus.mailauth.resolver import app_resolver
from postbus.message import find_header_end, get_header, parse_address_list

log = logging.getLogger("postbus.mailauth")

INBOUND_TIMEOUT = 15.0  # seconds for SPF, DKIM and DMARC together


def from_domain(message: bytes) -> tuple[str, str]:
    """(domain of the single RFC5322.From address, "") or ("", why not)."""
    head = message[: find_header_end(message, 0, len(message))]
    fields = get_header(head, "From")
    if len(fields) != 1:
        return "", "no From field" if not fields else "several From fields"
    mailboxes = [a for a in parse_address_list(fields[0]) if a[2] is not None]
    if len(mailboxes) != 1 or not mailboxes[0][3]:
        return "", "From must hold exactly one address"
    return (mailboxes[0][3] or "").lower(), ""


async def authentication_results(
    app: Any, *, client_ip: str, helo: str, mail_from: str, message: bytes
) -> bytes:
    """The complete `Authentication-Results: ...\\r\\n` field for an MX delivery."""
    authserv_id = app.settings.hostname
    resolver = app_resolver(app)
    spf_task = asyncio.ensure_future(spf.check(resolver, ip=client_ip, mail_from=mail_from, helo=helo))
    dkim_task = asyncio.ensure_future(dkim.verify(message, resolver))
    tasks: list[asyncio.Future[Any]] = [spf_task, dkim_task]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + INBOUND_TIMEOUT
    try:
        await asyncio.wait(tasks, timeout=INBOUND_TIMEOUT)
        spf_result = _outcome(spf_task, spf.SpfResult("temperror", "", _identity(mail_from)))
        dkim_results: list[dkim.DkimResult] | None = _outcome(dkim_task, None)
        domain, why = from_domain(message)
        dmarc_result = dmarc.DmarcResult("none" if not why.startswith("several") else "permerror")
        if domain:
            remaining = max(0.0, deadline - loop.time())
            try:
                async with asyncio.timeout(remaining):
                    dmarc_result = await dmarc.evaluate(resolver, domain, spf_result,
                                                        dkim_results or [])
            except TimeoutError:
                dmarc_result = dmarc.DmarcResult("temperror", domain)
    finally:
        for task in tasks:
            task.cancel()
    return header(authserv_id, [
        _spf_info(spf_result, mail_from, helo),
        *_dkim_infos(dkim_results),
        _dmarc_info(dmarc_result, domain, why),
    ])


def _identity(mail_from: str) -> str:
    return "mailfrom" if mail_from else "helo"


def _outcome(task: asyncio.Future[Any], fallback: Any) -> Any:
    if not task.done() or task.cancelled():
        return fallback
    exc = task.exception()
    if exc is not None:
        log.error("authentication check failed", exc_info=exc)
        return fallback
    return task.result()


def _spf_info(result: spf.SpfResult, mail_from: str, helo: str) -> ResInfo:
    if result.identity == "helo":
        return ResInfo("spf", result.result, (("smtp.helo", helo),))
    return ResInfo("spf", result.result, (("smtp.mailfrom", mail_from),))


def _dkim_infos(results: list[dkim.DkimResult] | None) -> list[ResInfo]:
    if results is None:
        return [ResInfo("dkim", "temperror", reason="verification did not finish")]
    if not results:
        return [ResInfo("dkim", "none")]
    return [ResInfo("dkim", r.result, (("header.d", r.domain), ("header.s", r.selector)),
                    reason=r.reason if r.result != "pass" else "")
            for r in results]


def _dmarc_info(result: dmarc.DmarcResult, domain: str, why: str) -> ResInfo:
    props = (("header.from", domain),) if domain else ()
    comment = f"p={result.policy}" if result.policy else ""
    return ResInfo("dmarc", result.result, props, reason=why, comment=comment)
