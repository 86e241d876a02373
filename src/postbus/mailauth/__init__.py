"""Mail authentication: DKIM signing and verification, SPF, DMARC, and the
Authentication-Results field, over a DNS `Resolver` that tests replace.

Invariants: nothing here blocks the event loop (DNS is asynchronous, dkimpy
runs in the executor on records fetched beforehand); no check raises for
anything a remote party controls: bad records, bad signatures and DNS failures
become results (fail, permerror, temperror).
"""
