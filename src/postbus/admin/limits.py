"""Bounds on what an administrator may enter, checked by the service before
anything is stored (every front end gets the same refusal)."""

from __future__ import annotations

MAX_ADMIN_NAME = 64  # characters of an administrator's name
MAX_LABEL = 64  # characters of an API token's label
MAX_ALIAS_TARGETS = 50  # targets of one alias
MAX_QUOTA_BYTES = 1 << 50  # 1 PiB: larger is a typo
MAX_VACATION_SUBJECT = 200  # characters
MAX_VACATION_BODY = 16 * 1024  # characters of a vacation reply's text
MAX_VACATION_INTERVAL_DAYS = 365
MAX_TOKEN_LENGTH = 128  # a longer bearer token is refused before it is hashed
MAX_PASSWORD_LENGTH = 1024  # refused before hashing; the policy has its own maximum
AUDIT_PAGE_MAX = 500  # entries per audit page
GENERATED_PASSWORD_GROUPS = 4  # of 4 characters from a 55-character alphabet: ~92 bits
GENERATE_ATTEMPTS = 5  # generated passwords tried against the policy before giving up
SESSION_IDLE_SECONDS = 30 * 60  # an admin panel session unused this long is over
SESSION_TOUCH_SECONDS = 60  # its last use is stored at most this often
