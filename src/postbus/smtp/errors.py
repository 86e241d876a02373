"""How SMTP handlers say no: they raise, the session turns it into a reply in one place.

- `SmtpSyntaxError` (from `smtp.proto`): a syntax error, 500/501/553/555.
- `Refusal(reply)`: the command was understood and refused (5xx) or deferred (4xx).
- `CloseConnection(reply)`: send the reply, then close (421).
- any other exception: a server fault; the session logs the traceback and
  answers 451 4.3.0, and the connection stays usable.
"""

from __future__ import annotations

from postbus.smtp.proto import Reply


class Refusal(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.to_bytes().decode().strip())
        self.reply = reply


class CloseConnection(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.to_bytes().decode().strip())
        self.reply = reply
