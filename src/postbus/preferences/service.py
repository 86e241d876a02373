"""Reading, checking and storing a user's preferences (see the package docstring)."""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from postbus.accounts.address import DEFAULT_RECIPIENT_DELIMITER, AddressError, normalize_address
from postbus.accounts.ownership import owned_addresses, owns
from postbus.preferences.limits import (
    DEFAULT_PAGE_SIZE,
    MAX_IDENTITIES,
    MAX_NAME_CHARS,
    MAX_PAGE_SIZE,
    MAX_REMOTE_SENDER_CHARS,
    MAX_REMOTE_SENDERS,
    MAX_SIGNATURE_CHARS,
    MAX_TIMEZONE_CHARS,
    MIN_PAGE_SIZE,
)
from postbus.store import Store
from postbus.store.model import Account

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # controls, line separators

#: The interface languages, English first (the default).
LANGUAGES = ("en", "nl", "fr")


class InvalidPreference(Exception):
    """A value was refused; `field` names it ("identity", "signature", "language",
    "page_size", "timezone") and `detail` says which value."""

    def __init__(self, field_name: str, detail: str = "") -> None:
        super().__init__(f"{field_name}: {detail}")
        self.field = field_name
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Identity:
    name: str  # display name, may be ""
    address: str


@dataclass(frozen=True, slots=True)
class Preferences:
    identities: tuple[Identity, ...] = ()  # the first is the default sender
    signature: str = ""
    language: str = "en"
    page_size: int = DEFAULT_PAGE_SIZE
    timezone: str = "UTC"
    #: senders (lower case) whose remote content is shown without asking
    remote_senders: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # keys of newer versions, kept

    def identity_for(self, address: str) -> Identity | None:
        for identity in self.identities:
            if identity.address.lower() == address.lower():
                return identity
        return None


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def valid_timezone(name: str) -> bool:
    return len(name) <= MAX_TIMEZONE_CHARS and (name == "UTC" or name in _zones())


class PreferencesService:
    def __init__(self, store: Store, *,
                 recipient_delimiter: str = DEFAULT_RECIPIENT_DELIMITER) -> None:
        self._store = store
        self._delimiter = recipient_delimiter

    async def get(self, account: Account) -> Preferences:
        """The stored preferences, defaults filled in; the mailbox's own address is
        the identity when none is stored."""
        raw = await self._store.get_user_settings(account.id)
        prefs = _decode(raw)
        if not prefs.identities:
            prefs = replace(prefs, identities=(Identity("", account.address),))
        return prefs

    async def page_size(self, account: Account, default: int) -> int:
        """The messages per page the user chose, else `default` (the operator's)."""
        raw = await self._store.get_user_settings(account.id)
        return _decode(raw).page_size if raw and '"page_size"' in raw else default

    async def stored_language(self, account: Account) -> str | None:
        """The language the user saved in the settings, None when never saved."""
        raw = await self._store.get_user_settings(account.id)
        return _decode(raw).language if raw and '"language"' in raw else None

    async def owned(self, account: Account) -> list[str]:
        """The addresses a sender picker offers: the mailbox and its domain's aliases to it."""
        return await owned_addresses(self._store, account)

    async def owns(self, account: Account, address: str) -> bool:
        return await owns(self._store, account, address, recipient_delimiter=self._delimiter)

    # -- remote content "always for this sender" (the webmail's reading screen) -------
    async def allows_remote(self, account: Account, sender: str) -> bool:
        return sender.lower() in (await self.get(account)).remote_senders

    async def set_remote(self, account: Account, sender: str, allowed: bool) -> None:
        """Adds the sender to, or takes it from, those whose remote content is shown."""
        sender = sender.lower()
        if allowed and (len(sender) > MAX_REMOTE_SENDER_CHARS or "@" not in sender
                        or _CONTROL.search(sender)):
            raise InvalidPreference("remote_sender", sender[:MAX_REMOTE_SENDER_CHARS])
        prefs = await self.get(account)
        kept = tuple(s for s in prefs.remote_senders if s != sender)
        if allowed:
            kept = (*kept, sender)[-MAX_REMOTE_SENDERS:]
        await self._store.set_user_settings(account.id, _encode(replace(prefs, remote_senders=kept)))

    async def save(self, account: Account, prefs: Preferences) -> Preferences:
        """Checks every value (InvalidPreference names the first bad one) and stores them."""
        checked = await self.check(account, prefs)
        await self._store.set_user_settings(account.id, _encode(checked))
        return checked

    async def check(self, account: Account, prefs: Preferences) -> Preferences:
        if len(prefs.identities) > MAX_IDENTITIES:
            raise InvalidPreference("identity", f"at most {MAX_IDENTITIES}")
        identities: list[Identity] = []
        seen: set[str] = set()
        for identity in prefs.identities:
            try:
                address = normalize_address(identity.address.strip())
            except AddressError:
                raise InvalidPreference("identity", identity.address) from None
            if not await self.owns(account, address):
                raise InvalidPreference("identity", identity.address)  # checked on the server
            if address not in seen:
                seen.add(address)
                name = _CONTROL.sub(" ", identity.name).strip()[:MAX_NAME_CHARS]
                identities.append(Identity(name, address))
        if len(prefs.signature) > MAX_SIGNATURE_CHARS:
            raise InvalidPreference("signature", f"at most {MAX_SIGNATURE_CHARS} characters")
        if prefs.language not in LANGUAGES:
            raise InvalidPreference("language", prefs.language[:10])
        if not MIN_PAGE_SIZE <= prefs.page_size <= MAX_PAGE_SIZE:
            raise InvalidPreference("page_size", str(prefs.page_size))
        if not valid_timezone(prefs.timezone):
            raise InvalidPreference("timezone", prefs.timezone[:MAX_TIMEZONE_CHARS])
        signature = prefs.signature.replace("\r\n", "\n").replace("\r", "\n")
        return replace(prefs, identities=tuple(identities), signature=signature)


def _encode(prefs: Preferences) -> str:
    data = asdict(prefs)
    extra = data.pop("extra")
    data["identities"] = [[i["name"], i["address"]] for i in data["identities"]]
    return json.dumps({**extra, **data}, ensure_ascii=False, sort_keys=True)


def _decode(raw: str | None) -> Preferences:
    """A stored document; a value that is not valid any more falls back to its default."""
    if not raw:
        return Preferences()
    try:
        data = json.loads(raw)
    except ValueError:
        return Preferences()
    if not isinstance(data, dict):
        return Preferences()
    default = Preferences()
    identities = tuple(
        Identity(str(i[0])[:MAX_NAME_CHARS], str(i[1])) for i in data.pop("identities", [])
        if isinstance(i, list) and len(i) == 2)[:MAX_IDENTITIES]
    signature = data.pop("signature", "")
    language = data.pop("language", "en")
    page_size = data.pop("page_size", DEFAULT_PAGE_SIZE)
    timezone = data.pop("timezone", "UTC")
    senders = data.pop("remote_senders", [])
    remote_senders = tuple(
        s for s in (senders if isinstance(senders, list) else [])
        if isinstance(s, str) and len(s) <= MAX_REMOTE_SENDER_CHARS)[-MAX_REMOTE_SENDERS:]
    return Preferences(
        identities=identities,
        signature=signature[:MAX_SIGNATURE_CHARS] if isinstance(signature, str) else "",
        language=language if language in LANGUAGES else default.language,
        page_size=page_size if isinstance(page_size, int)
        and MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE else default.page_size,
        timezone=timezone if isinstance(timezone, str) and valid_timezone(timezone)
        else default.timezone,
        remote_senders=remote_senders,
        extra=data,
    )
