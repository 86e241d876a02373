"""Named limits of the mailbox service, enforced for every front end.

Each bound says what it protects and what happens when it is passed.  The
folder limits exist because every folder is a row the folder tree, LIST and
LSUB walk: without them one user could create thousands of levels with one
15 KB command and make every later LIST cost seconds (issue 9).  A refusal is
``LimitReached`` (IMAP ``NO [LIMIT]``, RFC 5530), with a text naming the limit.
"""

from typing import Final

#: Levels in one folder name ("a/b/c" has 3).  Mail clients nest a handful of
#: levels; Dovecot's filesystem layouts stop near 16.  Policy: CREATE and
#: RENAME (including the names of the children a RENAME moves) are refused.
MAX_FOLDER_DEPTH: Final = 20

#: Folders per account, the implied parents CREATE makes included (they are
#: rows like any other).  Policy: a CREATE or RENAME that would pass it is refused.
MAX_FOLDERS: Final = 1_000

#: Characters in one level of a folder name: what most filesystems allow for
#: a file name, and what Dovecot allows for a level.  Policy: refused.
MAX_LEVEL_LENGTH: Final = 255

#: Characters in a whole folder name.  Bounds the work of matching one name
#: against a LIST pattern (the matcher is O(name x pattern)).  Policy: refused.
MAX_NAME_LENGTH: Final = 512

#: Subscribed names per account.  Subscriptions outlive their folders (RFC 3501
#: §6.3.9), so they are not bounded by MAX_FOLDERS; twice that leaves room for
#: names whose folders were deleted.  Policy: SUBSCRIBE of a new name is refused.
MAX_SUBSCRIPTIONS: Final = 2 * MAX_FOLDERS

#: Names matched against a LIST/LSUB pattern between two yields to the event
#: loop.  A name costs at most MAX_NAME_LENGTH steps of the matcher (a few
#: microseconds each), so a batch holds the loop for a few milliseconds at worst.
MATCH_BATCH: Final = 32

#: Message entries (uid, flags, modseq: about 100 bytes each) kept in memory
#: over all recently opened folders, so that opening a folder again costs its
#: changes, not its size (`mailbox.entries`). Policy: the least recently opened
#: folders are dropped first; a folder larger than this is read afresh each time.
MAX_CACHED_ENTRIES: Final = 500_000
