"""The address book of a mailbox user (issue 13 item 7): contacts (name, address,
notes), vCard 3.0/4.0 and CSV import and export, and address completion from the
contacts and the addresses the user wrote to.

Invariants: every contact is checked (`service.check_contact`) before the store
sees it; every count and length is bounded (`limits`), an import checked whole
before anything is stored; the written-to list holds at most MAX_WRITTEN_TO
addresses per account, the least recently used dropped first.
"""

from postbus.addressbook.errors import ContactRefused
from postbus.addressbook.service import AddressBook, Suggestion, check_contact
from postbus.store.userdata import Contact, NewContact

__all__ = ["AddressBook", "Contact", "ContactRefused", "NewContact", "Suggestion", "check_contact"]
