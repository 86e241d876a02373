"""Named limits of the preferences; a value past one is refused (`InvalidPreference`)."""

#: Identities (display name + From address) of one account.
MAX_IDENTITIES = 20
#: Characters of an identity's display name.
MAX_NAME_CHARS = 200
#: Characters of the signature.
MAX_SIGNATURE_CHARS = 10_000
#: Messages per page in the webmail's list, the smallest and largest choice.
MIN_PAGE_SIZE = 10
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
#: Characters of a time zone name as given (the longest IANA name has 32).
MAX_TIMEZONE_CHARS = 64
#: Senders whose remote content the webmail shows without asking ("always for
#: this sender"); the oldest is forgotten when one more is added.
MAX_REMOTE_SENDERS = 500
#: Characters of one such sender's address.
MAX_REMOTE_SENDER_CHARS = 320
