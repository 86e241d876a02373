"""Messages for the FETCH/SEARCH/SORT tests (CRLF line ends)."""

from __future__ import annotations

from tests.unit.imap_fetch.support import crlf

SIMPLE = crlf(
    "From: Alice Example <alice@example.org>\n"
    "To: Bob <bob@example.net>, carol@example.com\n"
    'Cc: "Dave, D." <dave@example.com>\n'
    "Subject: Lunch on\n Thursday?\n"
    "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
    "Message-ID: <1234@example.org>\n"
    "X-Long: one\n  two\n"
    "\n"
    "Hi Bob,\n"
    "\n"
    "Shall we have lunch on Thursday?\n"
)

# Part 1 is a message/rfc822 whose body is a multipart; its part 2 (1.2) is another
# message/rfc822: BODY[1.2.HEADER] is the innermost header. Part 2 is base64 with NULs.
NESTED = crlf(
    "From: a@example.org\n"
    "Subject: outer\n"
    "Content-Type: multipart/mixed; boundary=outer\n"
    "\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: b@example.org\n"
    "Subject: middle\n"
    "Content-Type: multipart/mixed; boundary=mid\n"
    "\n"
    "--mid\n"
    "Content-Type: text/plain\n"
    "\n"
    "middle text\n"
    "--mid\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: c@example.org\n"
    "Subject: inner\n"
    "X-Deep: yes\n"
    "\n"
    "inner body\n"
    "--mid--\n"
    "--outer\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAECAw==\n"
    "--outer--\n"
)

# Text parts in base64 and quoted-printable, and one in an unknown encoding.
ENCODED = crlf(
    "From: enc@example.org\n"
    "Subject: encodings\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "w6l0w6kgw6AgUGFyaXM=\n"
    "--b\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9 cr=C3=A8me\n"
    "--b\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "begin 644 x\n"
    "--b--\n"
)

# Broken MIME: a boundary that never appears, a bad nested header, 8-bit header octets.
BROKEN = (
    b"From: \xe9ric <eric@example.org>\r\n"
    b"Subject: =?utf-8?q?broken?=\r\n"
    b"Content-Type: multipart/mixed; boundary=nowhere\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"--elsewhere\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"not a header line\r\n"
    b"=?=?\x00\xff\r\n"
)

NO_HEADER = b"just a body line without any header\r\n"


def text_message(subject: str, body: str, *, sender: str = "sender@example.org",
                 to: str = "rcpt@example.net", date: str = "Tue, 1 Jul 2003 10:52:37 +0200",
                 extra: str = "") -> bytes:
    return crlf(
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {date}\n{extra}"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n" + body + "\n"
    )
