from tests.unit.imap_fetch.support import folder

__all__ = ["folder"]
