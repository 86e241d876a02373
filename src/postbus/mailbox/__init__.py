"""The mailbox service: the one place where a logged-in user's mail is read and changed.

IMAP, POP3 and the webmail call this package and nothing below it (DESIGN.md,
"Layers"); the store keeps storage and transactions, and no rules. Invariants:

- Every mailbox rule is written once, here: folder naming (INBOX, delimiters,
  forbidden characters), the folder limits (depth, count, name length),
  subscriptions (RFC 3501 §6.3.6, RFC 5258 §3), the flag-update rule
  (RFC 9051 §6.4.6, RFC 7162 §3.1.3), quota, append/copy/move/expunge.
- Nothing whose cost grows with user input runs unbounded on the event loop:
  folder trees are built in linear time and mailbox patterns are matched
  without a backtracking regex.
- This package imports nothing from `imap/`, `pop3/`, `smtp/` or `web/`;
  those front ends import the records and refusals they need from here
  (`mailbox.types`, `mailbox.errors`), never from `postbus.store`.

Modules: `service` (`Mailboxes`, the object front ends call, `App.mailboxes`),
`names` (INBOX, delimiter, new-name checks), `limits` (the named bounds),
`tree` (the hierarchy, linear), `patterns` (LIST wildcards, no regex),
`listing` (what LIST and LSUB select), `flags` (the STORE rule), `quota`,
`types` and `errors`.
"""
