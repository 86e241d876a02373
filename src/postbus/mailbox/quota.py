"""The quota report of an account (RFC 9208; the webmail shows the same numbers).

One quota per account over every folder, Trash included (DESIGN.md house
rules).  The numbers are the account row's, which the store keeps in the same
transaction as every change; a `limit_bytes` of 0 means no limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from postbus.mailbox.types import Account


@dataclass(frozen=True, slots=True)
class QuotaReport:
    used_bytes: int
    used_messages: int
    limit_bytes: int  # 0: unlimited

    @property
    def limited(self) -> bool:
        return self.limit_bytes > 0

    @classmethod
    def of(cls, account: Account) -> QuotaReport:
        return cls(account.used_bytes, account.used_messages, account.quota_bytes)
