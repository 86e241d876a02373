"""The address book: checks, limits, vCard 3.0/4.0 and CSV round trips, bounded
imports, completion from contacts and addresses written to."""

from __future__ import annotations

import pytest

from postbus.addressbook import AddressBook, ContactRefused, NewContact, csvio, vcard
from postbus.addressbook.limits import MAX_IMPORT_BYTES, MAX_IMPORT_LINE_CHARS
from tests.unit.compose.conftest import World

VCARD3 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Jansen;Piet;;;\r\nFN:Piet Jansen\r\n"
    "EMAIL;TYPE=INTERNET,WORK:piet@werk.nl\r\nitem1.EMAIL;TYPE=HOME:piet@thuis.nl\r\n"
    "NOTE:Tennis\\, dinsdags\\nbaan 3\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Dupont;Élise;;;\r\nEMAIL:elise@exemple.fr\r\n"
    "NOTE:a very long note that is folded over two lines because it is longer than seventy-f\r\n"
    " ive octets\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Zo=C3=AB\r\n"
    "EMAIL;INTERNET:zoe@example.org\r\nEND:VCARD\r\n")


def test_vcard_import_reads_names_addresses_notes_and_folding() -> None:
    found = vcard.parse(VCARD3)
    assert [(c.name, c.email) for c in found] == [
        ("Piet Jansen", "piet@werk.nl"), ("Piet Jansen", "piet@thuis.nl"),
        ("Élise Dupont", "elise@exemple.fr"), ("Zoë", "zoe@example.org")]
    assert found[0].notes == "Tennis, dinsdags\nbaan 3"
    assert found[2].notes.endswith("seventy-five octets")


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_export_round_trips(version: str) -> None:
    contacts = [NewContact("Jansen; Piet, jr.", "piet@werk.nl", "line one\nline two " + "é" * 60),
                NewContact("", "nameless@x.test")]
    text = vcard.export(contacts, version=version)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert f"VERSION:{version}" in text
    back = vcard.parse(text)
    assert back == [contacts[0], NewContact("nameless@x.test", "nameless@x.test")]


def test_csv_round_trip_and_foreign_headers() -> None:
    contacts = [NewContact("Smith, J", "j@x.test", "=cmd|calc"), NewContact("", "k@x.test")]
    text = csvio.export(contacts)
    assert "'=cmd|calc" in text  # not a formula in a spreadsheet
    assert csvio.parse(text) == [NewContact("Smith, J", "j@x.test", "'=cmd|calc"), contacts[1]]
    outlook = "First Name,Last Name,E-mail Address,Notes\r\nPiet,Jansen,piet@werk.nl,\r\n,,,\r\n"
    assert csvio.parse(outlook) == [NewContact("Piet Jansen", "piet@werk.nl", "")]
    with pytest.raises(ContactRefused) as refused:
        csvio.parse("Name,Phone\r\nx,1\r\n")
    assert refused.value.kind == "format"
    with pytest.raises(ContactRefused) as refused:
        csvio.parse("Name,Email\r\n" + "x" * (MAX_IMPORT_LINE_CHARS + 1) + ",a@b.c\r\n")
    assert refused.value.kind == "line_too_long"


async def test_import_is_bounded_checked_and_skips_known_addresses(world: World) -> None:
    book = AddressBook(world.app.store)
    await book.add(world.anna.id, NewContact("Piet", "piet@werk.nl"))
    made = await book.import_file(world.anna.id, VCARD3.encode(), "contacts.vcf")
    assert [c.email for c in made] == ["piet@thuis.nl", "elise@exemple.fr", "zoe@example.org"]
    assert len(await book.contacts(world.anna.id)) == 4
    with pytest.raises(ContactRefused) as refused:
        await book.import_file(world.anna.id, b"x" * (MAX_IMPORT_BYTES + 1), "big.csv")
    assert refused.value.kind == "too_big"
    bad = b"BEGIN:VCARD\r\nFN:x\r\nEMAIL:not-an-address\r\nEND:VCARD\r\n"
    with pytest.raises(ContactRefused) as refused:
        await book.import_file(world.anna.id, bad + VCARD3.encode(), "x.vcf")
    assert refused.value.kind == "email"
    assert len(await book.contacts(world.anna.id)) == 4  # all or nothing
    assert [c.email for c in await book.contacts(world.anna.id, "DUPONT")] == ["elise@exemple.fr"]
    assert await book.contacts(world.bob.id) == []


async def test_contact_checks(world: World) -> None:
    book = AddressBook(world.app.store)
    for bad in ("", "nobody", "a b@x.test", "x@-bad-", "x@[192.0.2.1]"):
        with pytest.raises(ContactRefused):
            await book.add(world.anna.id, NewContact("x", bad))
    c = await book.add(world.anna.id, NewContact(" Bob\x00 ", " bob@x.test "))
    assert (c.name, c.email) == ("Bob", "bob@x.test")
    with pytest.raises(ContactRefused) as refused:
        await book.update(world.bob.id, c.id, NewContact("x", "x@x.test"))  # not bob's
    assert refused.value.kind == "not_found"


async def test_completion_from_contacts_then_written_to(world: World) -> None:
    book = AddressBook(world.app.store)
    await book.add(world.anna.id, NewContact("Piet Jansen", "piet@werk.nl"))
    await book.remember(world.anna.id, [("pietje@school.nl", ""), ("piet@werk.nl", "P"),
                                        ("other@x.test", "Karel")])
    found = await book.complete(world.anna.id, "piet")
    assert [(s.address, s.source) for s in found] == [("piet@werk.nl", "contact"),
                                                      ("pietje@school.nl", "written")]
    assert found[0].display() == "Piet Jansen <piet@werk.nl>"
    assert [s.address for s in await book.complete(world.anna.id, "kar")] == ["other@x.test"]
    assert await book.complete(world.anna.id, "") == []
    assert await book.complete(world.bob.id, "piet") == []
