"""POP3 (RFC 1939 with RFC 2449, 2595, 5034, 6856): download-and-delete access to the INBOX.

`listener.protocol_factory` serves `pop3s` (implicit TLS) and `pop3` (STLS);
each connection is a `session.Pop3Session`, whose handlers live in
`authorization.py` and `transaction.py`, over a `maildrop.Maildrop` snapshot
guarded by a `lock.MaildropLocks` lock. The wire grammar is the sans-IO `proto`
package. Invariants: credentials only under TLS; message content leaves only
through a DotStuffer, streamed; the store changes only on QUIT in the
TRANSACTION state, and "+OK" follows the commit; a POP3 session never holds
a lock or a transaction while it waits for the client, except the maildrop lock.
"""
