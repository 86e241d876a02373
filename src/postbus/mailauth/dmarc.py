"""DMARC (RFC 7489): do the SPF and DKIM results speak for the From domain?

Policy discovery (§6.6.3) asks `_dmarc.<From domain>`, then `_dmarc.<organisational
domain>` (found with the Public Suffix List, §3.2); identifier alignment
(§3.1) is relaxed (same organisational domain) or strict (same name); the
result is pass when an aligned SPF pass or an aligned DKIM pass exists.

Why not the `dmarc` package's evaluator: its relaxed alignment accepts any
parent of the From domain, a bare public suffix included (a DKIM d=com would
align with example.com). The record grammar is small enough to parse here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from postbus.mailauth.dkim import DkimResult
from postbus.mailauth.resolver import DnsTempError, Resolver, normalize_name
from postbus.mailauth.spf import SpfResult

POLICIES = frozenset({"none", "quarantine", "reject"})
_VERSION = re.compile(r"v\s*=\s*DMARC1\s*(?:;|$)")


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    p: str
    sp: str
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100


@dataclass(frozen=True, slots=True)
class DmarcResult:
    result: str  # pass | fail | none | temperror | permerror
    from_domain: str = ""
    policy: str = ""  # the p= (or sp=) that applies: none | quarantine | reject
    record_domain: str = ""  # where the record was found


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the public suffix plus one label (the name itself when unknown)."""
    domain = normalize_name(domain)
    return _psl().privatesuffix(domain) or domain


def aligned(from_domain: str, other: str, mode: str) -> bool:
    """RFC 7489 §3.1.1, §3.1.2: strict is the same name, relaxed the same organisation."""
    a, b = normalize_name(from_domain), normalize_name(other)
    if not a or not b:
        return False
    if mode == "s":
        return a == b
    return organizational_domain(a) == organizational_domain(b)


def parse_record(text: str) -> DmarcRecord | None:
    """RFC 7489 §6.3-6.4 tag list; None when it is not a usable DMARC record."""
    if not _VERSION.match(text.strip()):
        return None
    tags: dict[str, str] = {}
    for part in text.split(";")[1:]:
        name, eq, value = part.partition("=")
        if eq:
            tags.setdefault(name.strip().lower(), value.strip().lower())
    p = tags.get("p", "")
    if p not in POLICIES:
        # §6.6.3: a record with a bad or missing p= but a rua= is treated as p=none.
        if "rua" not in tags:
            return None
        p = "none"
    sp = tags.get("sp", p)
    pct = tags.get("pct", "100")
    return DmarcRecord(
        p=p,
        sp=sp if sp in POLICIES else p,
        adkim="s" if tags.get("adkim") == "s" else "r",
        aspf="s" if tags.get("aspf") == "s" else "r",
        pct=min(100, int(pct)) if pct.isdigit() else 100,
    )


async def _fetch(resolver: Resolver, domain: str) -> DmarcRecord | None:
    texts = await resolver.txt(f"_dmarc.{domain}")
    records = [r for r in (parse_record(t) for t in texts if _VERSION.match(t.strip())) if r]
    # §6.6.3 step 4: several records, or none, end discovery at this name.
    return records[0] if len(records) == 1 else None


async def evaluate(
    resolver: Resolver, from_domain: str, spf: SpfResult | None, dkim: Sequence[DkimResult]
) -> DmarcResult:
    """The DMARC result for a message whose RFC5322.From domain is `from_domain`."""
    from_domain = normalize_name(from_domain)
    if not from_domain:
        return DmarcResult("none")
    org = organizational_domain(from_domain)
    try:
        record, where = await _fetch(resolver, from_domain), from_domain
        if record is None and org != from_domain:
            record, where = await _fetch(resolver, org), org
    except DnsTempError:
        return DmarcResult("temperror", from_domain)
    if record is None:
        return DmarcResult("none", from_domain)
    policy = record.p if where == from_domain else record.sp
    # §4.1 with RFC 7208 §2.4: for the null sender SPF checked the HELO name.
    spf_ok = spf is not None and spf.result == "pass" and aligned(from_domain, spf.domain, record.aspf)
    dkim_ok = any(d.result == "pass" and aligned(from_domain, d.domain, record.adkim) for d in dkim)
    return DmarcResult("pass" if spf_ok or dkim_ok else "fail", from_domain, policy, where)
