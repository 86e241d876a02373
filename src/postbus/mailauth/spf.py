"""SPF (RFC 7208): may this client IP send mail for this domain?

Our own asynchronous `check_host()` (§4), so that every lookup goes through the
injected `Resolver` and none blocks the loop; pyspf checks it in the tests.
Implemented: all, include, a, mx, ptr, ip4, ip6, exists, redirect (§5, §6.1),
the macros of §7 used outside explanations, the limits of §4.6.4 (10 terms
that query DNS, 10 MX and 10 PTR names per mechanism, 2 void lookups). The
"exp" modifier is parsed and ignored: we report results, never explanations.

Invariants: the whole record is checked for syntax before any term is
evaluated (§4.6); DNS failures give temperror and never raise out of `check`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import idna

from postbus.mailauth.resolver import DnsTempError, Resolver, normalize_name
from postbus.mailauth.spf_macro import (
    MacroError,
    check_domain_spec,
    check_macro_string,
    expand_domain,
    letters_used,
)

MAX_DNS_TERMS = 10  # RFC 7208 §4.6.4
MAX_VOID_LOOKUPS = 2  # RFC 7208 §4.6.4
MAX_MX_NAMES = 10  # RFC 7208 §4.6.4
MAX_PTR_NAMES = 10  # RFC 7208 §4.6.4, §5.5
MAX_LABEL = 63

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
DNS_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_VERSION = re.compile(r"v=spf1(?: |$)", re.IGNORECASE)
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9._-]*)=(.*)", re.DOTALL)
_MECHANISM = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9._-]*)(.*)", re.DOTALL)
_CIDR = re.compile(r"(.*?)(?:/(0|[1-9]\d{0,2}))?(?://(0|[1-9]\d{0,2}))?")


class PermError(Exception):
    pass


class TempError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SpfResult:
    result: str  # pass fail softfail neutral none permerror temperror
    domain: str = ""
    identity: str = "mailfrom"  # mailfrom | helo
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Term:
    qualifier: str
    mechanism: str
    arg: str  # domain-spec or network, "" when absent
    cidr4: int | None = None
    cidr6: int | None = None


@dataclass(frozen=True, slots=True)
class Record:
    terms: tuple[Term, ...]
    redirect: str | None = None


def parse_record(text: str) -> Record:
    """A v=spf1 record's terms (RFC 7208 §4.6.1, §12); PermError on any syntax error."""
    words = text.split(" ")[1:]
    terms: list[Term] = []
    modifiers: dict[str, str] = {}
    for word in words:
        if not word:
            continue
        mod = _MODIFIER.fullmatch(word)
        if mod:
            name, value = mod.group(1).lower(), mod.group(2)
            if name in modifiers and name in ("redirect", "exp"):
                raise PermError(f"{name}= appears twice")  # RFC 7208 §6
            _syntax(check_domain_spec if name in ("redirect", "exp") else check_macro_string, value)
            modifiers[name] = value
            continue
        terms.append(_parse_mechanism(word))
    return Record(tuple(terms), modifiers.get("redirect"))


def _syntax(check: Callable[[str], None], value: str) -> None:
    try:
        check(value)
    except MacroError as exc:
        raise PermError(str(exc)) from None


def _parse_mechanism(word: str) -> Term:
    m = _MECHANISM.fullmatch(word)
    if not m:
        raise PermError(f"unknown term {word!r}")
    qualifier, name, rest = m.group(1) or "+", m.group(2).lower(), m.group(3)
    if name not in MECHANISMS:
        raise PermError(f"unknown mechanism {name!r}")
    if name == "all":
        if rest:
            raise PermError(f"bad term {word!r}")
        return Term(qualifier, name, "")
    if name in ("ip4", "ip6"):
        return _parse_network(qualifier, name, rest, word)
    if name in ("include", "exists") and not rest.startswith(":"):
        raise PermError(f"{name} needs a domain")
    if name in ("include", "exists", "ptr"):
        arg = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise PermError(f"bad term {word!r}")
        if rest:
            _syntax(check_domain_spec, arg)
        return Term(qualifier, name, arg)
    cidr = _CIDR.fullmatch(rest)
    assert cidr is not None
    spec, c4, c6 = cidr.groups()
    if (spec and not spec.startswith(":")) or spec == ":":
        raise PermError(f"bad term {word!r}")
    if spec:
        _syntax(check_domain_spec, spec[1:])
    cidr4, cidr6 = _int(c4, 32, word), _int(c6, 128, word)
    return Term(qualifier, name, spec[1:], cidr4, cidr6)


def _parse_network(qualifier: str, name: str, rest: str, word: str) -> Term:
    if not rest.startswith(":"):
        raise PermError(f"{name} needs a network")
    address, _, length = rest[1:].partition("/")
    limit = 32 if name == "ip4" else 128
    try:
        ip = ipaddress.IPv4Address(address) if name == "ip4" else ipaddress.IPv6Address(address)
    except ValueError:
        raise PermError(f"bad address in {word!r}") from None
    if length and not re.fullmatch(r"0|[1-9]\d{0,2}", length):
        raise PermError(f"bad prefix length in {word!r}")
    bits = _int(length or None, limit, word)
    return Term(qualifier, name, str(ip), bits if name == "ip4" else None,
                bits if name == "ip6" else None)


def _int(text: str | None, limit: int, word: str) -> int | None:
    if text is None:
        return None
    value = int(text)
    if value > limit:
        raise PermError(f"prefix length over {limit} in {word!r}")
    return value


@dataclass
class _Check:
    """State shared by one check_host() and everything it includes."""

    resolver: Resolver
    ip: IPAddress
    sender: str
    helo: str
    lookups: int = 0
    voids: int = 0
    validated: dict[str, list[str]] = field(default_factory=dict)

    def count_term(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_DNS_TERMS:
            raise PermError(f"more than {MAX_DNS_TERMS} DNS-querying terms")

    def void(self, answer: list[str] | list[tuple[int, str]]) -> None:
        if not answer:
            self.voids += 1
            if self.voids > MAX_VOID_LOOKUPS:
                raise PermError(f"more than {MAX_VOID_LOOKUPS} void lookups")

    async def addresses(self, name: str) -> list[str]:
        lookup = self.resolver.ip4 if self.ip.version == 4 else self.resolver.ip6
        return await lookup(name)

    def matches(self, addresses: list[str], cidr4: int | None, cidr6: int | None) -> bool:
        bits = (cidr4 if cidr4 is not None else 32) if self.ip.version == 4 else (
            cidr6 if cidr6 is not None else 128)
        for text in addresses:
            try:
                net = ipaddress.ip_network(f"{text}/{bits}", strict=False)
            except ValueError:
                continue
            if net.version == self.ip.version and self.ip in net:
                return True
        return False

    async def macro_values(self, text: str, domain: str) -> dict[str, str]:
        local, _, sender_domain = self.sender.rpartition("@")
        if self.ip.version == 4:
            i, v = str(self.ip), "in-addr"
        else:
            i, v = ".".join(self.ip.exploded.replace(":", "")), "ip6"
        values = {"s": self.sender, "l": local or "postmaster", "o": sender_domain, "d": domain,
                  "i": i, "v": v, "h": self.helo, "p": "unknown"}
        if "p" in letters_used(text):
            names = await self.validated_names()
            best = [n for n in names if n == domain] or [n for n in names if n.endswith("." + domain)]
            values["p"] = (best or names or ["unknown"])[0]
        return values

    async def expand(self, spec: str, domain: str) -> str:
        if not spec:
            return domain
        try:
            name = expand_domain(spec, await self.macro_values(spec, domain))
        except MacroError as exc:
            raise PermError(str(exc)) from None
        return normalize_name(name)

    async def validated_names(self) -> list[str]:
        """RFC 7208 §5.5: PTR names whose addresses include the client IP."""
        key = str(self.ip)
        if key not in self.validated:
            try:
                names = (await self.resolver.ptr(key))[:MAX_PTR_NAMES]
            except DnsTempError:
                names = []
            good = []
            for name in names:
                try:
                    if self.matches(await self.addresses(name), None, None):
                        good.append(name)
                except DnsTempError:
                    continue
            self.validated[key] = good
        return self.validated[key]


def _valid_domain(domain: str) -> bool:
    labels = domain.split(".")
    return len(labels) > 1 and all(0 < len(label) <= MAX_LABEL for label in labels)


async def _record_for(check: _Check, domain: str) -> Record | None:
    try:
        texts = await check.resolver.txt(domain)
    except DnsTempError as exc:
        raise TempError(str(exc)) from None
    check.void(texts)
    spf = [t for t in texts if _VERSION.match(t)]
    if not spf:
        return None
    if len(spf) > 1:
        raise PermError("several SPF records")  # RFC 7208 §4.5
    return parse_record(spf[0])


async def _check_host(check: _Check, domain: str) -> str:
    """RFC 7208 §4: the result for `domain`; PermError and TempError propagate."""
    if not _valid_domain(domain):
        return "none"
    record = await _record_for(check, domain)
    if record is None:
        return "none"
    for term in record.terms:
        if await _matches(check, term, domain):
            return QUALIFIERS[term.qualifier]
    if record.redirect is not None and not any(t.mechanism == "all" for t in record.terms):
        check.count_term()
        target = await check.expand(record.redirect, domain)
        result = await _check_host(check, target) if _valid_domain(target) else "none"
        if result == "none":
            raise PermError(f"redirect to {target}, which has no SPF record")  # §6.1
        return result
    return "neutral"


async def _matches(check: _Check, term: Term, domain: str) -> bool:
    kind = term.mechanism
    if kind == "all":
        return True
    if kind in ("ip4", "ip6"):
        return check.matches([term.arg], term.cidr4, term.cidr6)
    check.count_term()
    target = await check.expand(term.arg, domain)
    try:
        if kind == "include":
            result = await _check_host(check, target)
            if result in ("none", "permerror"):
                raise PermError(f"include:{target} gave {result}")  # §5.2
            return result == "pass"
        if kind == "a":
            found = await check.addresses(target)
            check.void(found)
            return check.matches(found, term.cidr4, term.cidr6)
        if kind == "mx":
            return await _mx_matches(check, target, term)
        if kind == "ptr":
            names = await check.validated_names()
            return any(n == target or n.endswith("." + target) for n in names)
        # exists: an A query whatever the client's address family (§5.7)
        found = await check.resolver.ip4(target)
        check.void(found)
        return bool(found)
    except DnsTempError as exc:
        raise TempError(str(exc)) from None


async def _mx_matches(check: _Check, target: str, term: Term) -> bool:
    exchanges = await check.resolver.mx(target)
    check.void(exchanges)
    if len(exchanges) > MAX_MX_NAMES:
        raise PermError(f"{target} has more than {MAX_MX_NAMES} MX records")
    for _, host in exchanges:
        if not host:
            continue  # RFC 7505 null MX
        found = await check.addresses(host)
        check.void(found)
        if check.matches(found, term.cidr4, term.cidr6):
            return True
    return False


async def check_host(
    resolver: Resolver, ip: str, domain: str, sender: str, helo: str = ""
) -> str:
    """RFC 7208 §4 check_host(): one of the seven results, never an exception."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "permerror"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # RFC 7208 §5: mapped addresses are IPv4
    check = _Check(resolver, address, sender, helo)
    try:
        return await _check_host(check, normalize_name(domain))
    except PermError:
        return "permerror"
    except TempError:
        return "temperror"


async def check(resolver: Resolver, *, ip: str, mail_from: str, helo: str) -> SpfResult:
    """The MAIL FROM identity, or postmaster@HELO for the null sender (RFC 7208 §2.4)."""
    if mail_from:
        local, at, domain = mail_from.rpartition("@")
        identity = "mailfrom"
        sender = mail_from if at and local else f"postmaster@{domain}"
    else:
        domain, identity, sender = helo, "helo", f"postmaster@{helo}"
    try:
        domain = idna.encode(domain.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return SpfResult("none", domain, identity, "not a domain name")
    result = await check_host(resolver, ip, domain, sender, helo)
    return SpfResult(result, domain, identity)
