"""The services the writing screens use, made once per App: compose, the address
book and the preferences (`postbus.compose`, `postbus.addressbook`,
`postbus.preferences`)."""

from __future__ import annotations

from dataclasses import dataclass

from postbus.addressbook import AddressBook
from postbus.app import App
from postbus.compose import Compose
from postbus.mailbox.types import Account
from postbus.preferences import PreferencesService


@dataclass(frozen=True, slots=True)
class UserServices:
    compose: Compose
    addressbook: AddressBook
    preferences: PreferencesService


def user_services(app: App) -> UserServices:
    found = app.services.get("webmail_user")
    if isinstance(found, UserServices):
        return found
    compose = Compose(app)
    made = UserServices(compose, compose.addressbook, compose.preferences)
    app.services["webmail_user"] = made
    return made


async def time_zone(app: App, account: Account) -> str:
    """The user's time zone (the settings' `timezone`; UTC until one is saved)."""
    return (await user_services(app).preferences.get(account)).timezone
