"""Named limits of the webmail: every input a browser controls is bounded here.

Policy: a request over a limit is refused (400/413) before the excess is read or
kept; a header value over its limit is ignored as if absent.
"""

#: Octets of a login or small action form (user name, password, a few fields).
MAX_SMALL_FORM = 16 * 1024
#: Form fields in a small action form (a page of selected UIDs plus the rest).
MAX_FORM_FIELDS = 512
#: Characters of a user name or password typed at login (sasl.MAX_SASL_FIELD is 1 KiB).
MAX_CREDENTIAL = 1024
#: Characters of Accept-Language considered; entries considered.
MAX_ACCEPT_LANGUAGE = 512
MAX_LANGUAGE_RANGES = 16
#: Characters of a folder name in a query string or form (mailbox.limits checks more).
MAX_FOLDER_PARAM = 1024
#: Characters of a quick-search query.
MAX_SEARCH = 256
#: UIDs one action may name.
MAX_SELECTED = 500
#: Pages of a message list one may ask for (page * page_size stays bounded).
MAX_PAGE = 100_000
#: Characters of a CSRF token accepted from a form or header.
MAX_CSRF = 128
#: Levels of a MIME part number in a URL ("1.2.3"): the parser's own limit is lower.
MAX_PART_PATH = 32
#: Octets of a text part decoded for display; the rest is offered as a download.
MAX_SHOWN_TEXT = 2 * 1024 * 1024
#: Characters of a "next" URL (where to go after a login or an action).
MAX_NEXT = 2048
