"""SMTP: the MX (`smtp`), submission with STARTTLS (`submission`) and with implicit TLS
(`submissions`), on one `asyncio.Protocol` session over the sans-IO core in `proto/`.

Invariants: a 250 to the end of a message is sent only after the delivery
pipeline has durably stored it in every Inbox and in the queue; the MX accepts
mail only for hosted domains and never relays; AUTH exists only inside TLS on
the submission listeners; only CR LF "." CR LF ends DATA, and a message with a
bare CR or LF is refused, never split.
"""
