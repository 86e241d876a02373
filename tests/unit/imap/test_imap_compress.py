"""COMPRESS=DEFLATE (RFC 4978) through the net layer, byte for byte, over TLS."""

from __future__ import annotations

import asyncio
import zlib

from tests.unit.imap.harness import READ_TIMEOUT, Client, Harness, message


class Deflated:
    """Both directions of a client after COMPRESS DEFLATE: raw DEFLATE, Z_SYNC_FLUSH."""

    def __init__(self, client: Client, already: bytes = b"") -> None:
        self.client = client
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflater = zlib.decompressobj(-15)
        self.buffer = b""
        self.tags = 0
        self.already = already  # compressed octets the client sent with the COMPRESS line

    def pack(self, data: bytes) -> bytes:
        return self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH)

    async def send(self, data: bytes) -> None:
        await self.client.send(self.pack(data))

    async def _fill(self) -> None:
        chunk = await asyncio.wait_for(self.client.reader.read(65536), READ_TIMEOUT)
        if not chunk:
            raise ConnectionError("closed")
        self.buffer += self.inflater.decompress(chunk)

    async def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            await self._fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line + b"\r\n"

    async def exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            await self._fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    async def command(self, text: bytes) -> list[bytes]:
        self.tags += 1
        tag = b"z%d" % self.tags
        await self.send(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = await self.line()
            if line.endswith(b"}\r\n"):
                size = int(line[line.rindex(b"{") + 1:-3])
                line += await self.exactly(size) + await self.line()
            lines.append(line.replace(tag + b" ", b"TAG ", 1) if line.startswith(tag) else line)
            if line.startswith(tag + b" "):
                return lines


async def compressed(client: Client) -> Deflated:
    assert await client.command("COMPRESS DEFLATE") == [b"TAG OK DEFLATE active\r\n"]
    return Deflated(client)


async def test_compress_deflate_reads_a_message_byte_for_byte(imap: Harness) -> None:
    raw = message("squeeze", body="line of text\r\n" * 5000)
    await imap.deliver(raw)
    client = await imap.client()
    z = await compressed(client)
    assert (await z.command(b"SELECT INBOX"))[-1].startswith(b"TAG OK [READ-WRITE]")
    lines = await z.command(b"FETCH 1 (BODY.PEEK[])")
    assert lines[0] == b"* 1 FETCH (BODY[] {%d}\r\n" % len(raw) + raw + b")\r\n"
    assert lines[1] == b"TAG OK FETCH completed\r\n"
    # RFC 4978 §3: a second COMPRESS is refused, inside the compressed stream.
    assert await z.command(b"COMPRESS DEFLATE") == [
        b"TAG NO [COMPRESSIONACTIVE] DEFLATE is already active\r\n"]
    assert await z.command(b"NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_compress_needs_login_and_knows_only_deflate(imap: Harness) -> None:
    client = await imap.client(login=False)
    assert await client.command("COMPRESS DEFLATE") == [
        b"TAG BAD COMPRESS is not allowed in the not authenticated state\r\n"]
    await client.login()
    assert await client.command("COMPRESS LZMA") == [
        b"TAG BAD Unknown compression mechanism LZMA\r\n"]
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]  # still plain


async def test_compressed_input_pipelined_after_the_command(imap: Harness) -> None:
    client = await imap.client()
    z = Deflated(client)
    # The client compresses right after the command line (RFC 4978 §3 allows no
    # pipelining, but what arrives with the command must not be lost or misread).
    await client.send(b"c1 COMPRESS DEFLATE\r\n" + z.pack(b"z1 NOOP\r\n"))
    assert await client.response() == b"c1 OK DEFLATE active\r\n"
    assert await z.line() == b"z1 OK NOOP completed\r\n"


async def test_large_compressed_append_is_inflated_in_bounded_steps(imap: Harness) -> None:
    # 4 MiB that deflate to a few KiB: inflated a chunk at a time as the session reads it.
    raw = message("big", body="A" * 78 + "\r\n") + b"B" * 78 * 1024 * 52 + b"\r\n"
    client = await imap.client()
    z = await compressed(client)
    z.tags += 1
    await z.send(b"z%d APPEND INBOX {%d+}\r\n" % (z.tags, len(raw)) + raw + b"\r\n")
    line = await z.line()
    assert line.startswith(b"z%d OK [APPENDUID " % z.tags), line
    await z.command(b"SELECT INBOX")
    lines = await z.command(b"FETCH 1 (BODY.PEEK[])")
    assert lines[0] == b"* 1 FETCH (BODY[] {%d}\r\n" % len(raw) + raw + b")\r\n"


async def test_invalid_deflate_input_closes_the_connection(imap: Harness) -> None:
    client = await imap.client()
    await compressed(client)
    await client.send(b"\xff" * 64)  # not a valid DEFLATE block
    assert await asyncio.wait_for(client.reader.read(), READ_TIMEOUT) == b""
    other = await imap.client()  # the server goes on
    assert await other.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_compressed_lines_at_and_past_the_line_limit(imap: Harness) -> None:
    # MAX_LINE (64 KiB) inflates to exactly what the session may hold; past it the
    # line is discarded with BAD and the compressed session goes on.
    await imap.deliver(message("one"))
    client = await imap.client()
    z = await compressed(client)
    await z.command(b"SELECT INBOX")
    near = b"UID SEARCH UID " + b",".join(b"%d" % (n * 2 + 1) for n in range(9000))
    assert len(near) < 64 * 1024 - 16
    assert await z.command(near) == [b"* SEARCH 1\r\n", b"TAG OK UID SEARCH completed\r\n"]
    lines = await z.command(b"NOOP " + b"x" * 70_000)
    assert lines[-1].startswith(b"TAG BAD [TOOBIG]"), lines
    assert await z.command(b"NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_idle_updates_are_flushed_while_compressed(imap: Harness) -> None:
    client = await imap.client()
    z = await compressed(client)
    await z.command(b"SELECT INBOX")
    await z.send(b"i1 IDLE\r\n")
    assert await z.line() == b"+ idling\r\n"
    await imap.deliver(message("while idle"))
    # The update reaches the client without anything else being sent: it was flushed.
    assert await z.line() == b"* 1 EXISTS\r\n"
    await z.send(b"DONE\r\n")
    lines = [await z.line()]
    while not lines[-1].startswith(b"i1 "):
        lines.append(await z.line())
    assert lines[-1] == b"i1 OK IDLE completed\r\n"
