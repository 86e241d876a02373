"""Named limits of the address book. Past one, the request is refused with
`ContactRefused` naming it; an import is refused whole, nothing stored."""

#: Contacts of one account.
MAX_CONTACTS = 5000
#: Characters of a contact's name and of its address.
MAX_CONTACT_NAME_CHARS = 200
MAX_CONTACT_EMAIL_CHARS = 254  # RFC 5321 §4.5.3.1.3 path minus the brackets
#: Characters of a contact's notes.
MAX_NOTES_CHARS = 4000
#: Octets of an uploaded vCard or CSV file.
MAX_IMPORT_BYTES = 2 << 20
#: Contacts read from one import file.
MAX_IMPORT_CONTACTS = MAX_CONTACTS
#: Characters of one vCard line (unfolded) or one CSV field.
MAX_IMPORT_LINE_CHARS = 8000
#: Addresses written to, remembered per account; the least recently used goes first.
MAX_WRITTEN_TO = 2000
#: Suggestions returned by one completion query, and characters of the query.
MAX_SUGGESTIONS = 20
MAX_QUERY_CHARS = 100
