"""The store's refusals. Front ends map them to protocol replies in one place."""


class StoreError(Exception):
    """Base class of every refusal the store makes on purpose."""


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class OverQuota(StoreError):
    """The account's quota would be exceeded (RFC 9208 OVERQUOTA, SMTP 452 4.2.2)."""


class InvalidName(StoreError):
    pass


class Conflict(StoreError):
    """The operation is not allowed in the current state (e.g. renaming onto an existing name)."""
