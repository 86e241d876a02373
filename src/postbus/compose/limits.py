"""Named limits of the compose service: each bounds one thing a browser sends.

Policy for all of them: the request is refused with a `ComposeRefused` naming
the limit; nothing is sent or stored. The total size of a message is bounded by
`[limits] max_message_size` (the same limit as SMTP SIZE and IMAP APPENDLIMIT),
checked on the message as built, before anything is delivered.
"""

#: Recipients of one message (To + Cc + Bcc), as SMTP submission allows per
#: transaction (RFC 5321 §4.5.3.1.8 asks for at least 100).
MAX_RECIPIENTS = 1000
#: Characters of one address field as typed (To, Cc or Bcc).
MAX_ADDRESS_FIELD_CHARS = 64 << 10
#: Characters of a subject.
MAX_SUBJECT_CHARS = 1000
#: Characters of a display name (identity or recipient).
MAX_NAME_CHARS = 200
#: Attachments of one message.
MAX_ATTACHMENTS = 100
#: Characters of an attachment's file name.
MAX_FILENAME_CHARS = 255
#: Message-IDs kept in a reply's References (RFC 5322 §3.6.4 lets us trim the
#: middle; the first and the latest ones are kept).
MAX_REFERENCES = 50
#: Octets of an original message read to quote or forward it; a longer text
#: part is quoted up to this many octets.
MAX_QUOTED_CHARS = 1 << 20
