"""The password policy applied wherever a password is set (CLI, admin panel, API, webmail).

`PasswordPolicy.check` applies five rules in a fixed order and raises
`WeakPassword` naming the first rule broken (`RULES` says the same for users):

1. "length": at least `min_length` (8) and at most `max_length` (1024) characters.
2. "username": not the user's address, local part or its pieces, or a domain
   label but the last, nor a simple variation of them: repeated, reversed, with
   digits, punctuation or look-alike substitutions.
3. "dictionary": not a word of the shipped English, Dutch or French lists nor a
   very common password, after folding case, accents and look-alikes
   (0→o 1→i/l 3→e 4→a @→a $→s 5→s 7→t !→i) and stripping leading and trailing
   digits and punctuation; two words glued together only when zxcvbn also finds
   the result weak.
4. "strength": zxcvbn score at least `min_score` (3 of 4), with the user's names
   as zxcvbn user inputs, computed on a bounded prefix so that a check stays
   near 20 ms whatever the input.
5. "dictionary" again, "mostly one word": no known word of at least four letters
   may make up half or more of the password's characters, wherever it stands
   and whatever digits and symbols surround it, look-alikes read as letters.
   Known words: the three word lists, the very common passwords, zxcvbn's list
   of leaked passwords, and first names and surnames (zxcvbn's English lists and
   `data/wordlists/names.txt`, Dutch and French). "Amsterdam#1975x" (9 of 15
   characters "amsterdam") and "Pieter2000#" are refused; a passphrase of three
   or four random words ("quartz Hazel Walrus Meadow") and a random string
   ("Tq7#mZ2v!pLx") are accepted.

The corpora in tests/unit/accounts/data hold this: 240 leaked-style passwords
refused, 50 strong ones accepted. Word lists are package data built by
`postbus/data/wordlists/build.py`; they are read lazily, once per process.
Invariants: `check` never logs or keeps the password, its messages name the
rule and what matched (a folded word or name), not the password as typed, and
it is safe to call from several threads (zxcvbn's shared state is locked).
"""

from __future__ import annotations

import functools
import gzip
import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources

from zxcvbn import matching as zxcvbn_matching
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

DEFAULT_MIN_LENGTH = 8
# A bound on the work one check can cause; real passphrases are far shorter.
MAX_PASSWORD_LENGTH = 1024
DEFAULT_MIN_SCORE = 3  # zxcvbn scores run 0..4; 3 is "safely unguessable"
# zxcvbn's time grows with the square of the length and with the number of
# look-alike tables its l33t matcher enumerates (736 for a 21-character string
# of look-alikes: 325 ms here). So it scores a prefix: at most 32 characters and
# at most 16 tables, which keeps a check near 20 ms. A prefix is only ever
# under-rated, and one cut short by look-alikes is random-looking by then.
ZXCVBN_MAX_INPUT = 32
ZXCVBN_MAX_L33T_TABLES = 16
MIN_WORD_LENGTH = 4  # shorter list words would refuse too much by containment
MAX_WORD_LENGTH = 40  # longer than any shipped word; bounds the glued-words search
MIN_NAME_TOKEN_LENGTH = 3  # shorter names are refused only when the password is just them
MAX_AMBIGUOUS_SUBSTITUTIONS = 4  # each "1" doubles the variants tried (i or l)
# A password of which one known word (at least MIN_WORD_LENGTH letters, found in
# its letters once look-alikes are read) makes up at least this fraction of the
# characters is refused, whatever digits and symbols surround the word:
# "Amsterdam#1975x" is 9 of 15 characters "amsterdam". A passphrase of three or
# more words never is.
MOSTLY_ONE_WORD = (1, 2)

LANGUAGES = {"en": "English", "nl": "Dutch", "fr": "French"}

# The policy as users read it (`postbus user add --help`, the README).
RULES = (
    "at least 8 characters; not based on the user name; not a dictionary word"
    " (English, Dutch, French) or a common password, even with capitals, digits,"
    " symbols or look-alikes (P@ssw0rd); no word or name of four or more letters"
    " making up half of it or more (Amsterdam#1975x is refused); and strong enough"
    " for the zxcvbn estimator (score 3 of 4). Random strings and passphrases of"
    " three or more random words, none half of it, pass."
)

# Look-alike characters folded before dictionary and name comparisons.
SUBSTITUTIONS = {"0": "o", "3": "e", "4": "a", "@": "a", "$": "s", "5": "s", "7": "t", "!": "i"}
AMBIGUOUS_SUBSTITUTIONS = {"1": ("i", "l")}

# The most used passwords (in their folded form) that the word lists miss;
# zxcvbn knows many more, but only in English.
COMMON_PASSWORDS = frozenset(
    """
    password passwort wachtwoord motdepasse contrasena iloveyou jetaime ikhouvanjou
    qwerty qwertyuiop qwertz azerty azertyuiop asdfgh asdfghjkl zxcvbn zxcvbnm qazwsx
    qwerty123 azerty123 1q2w3e4r 1qaz2wsx zaq12wsx abc123 abcd1234 a1b2c3 aaaaaa
    123456 1234567 12345678 123456789 1234567890 111111 000000 123123 654321 121212
    letmein welcome welkom bienvenue admin administrator root toor login master
    changeme secret geheim default guest test testtest demo user gebruiker utilisateur
    dragon monkey football voetbal baseball sunshine princess shadow superman batman
    trustno1 starwars whatever freedom passpass hallo hallo123 bonjour soleil doudou
    loulou chouchou marseille ajax feyenoord amsterdam rotterdam paris
    email mail webmail mailbox postbus
    """.split()
)

_L33T_TABLE: dict[str, list[str]] = zxcvbn_matching.L33T_TABLE
_L33T_LETTERS: dict[str, set[str]] = {}
for _letter, _chars in _L33T_TABLE.items():
    for _ch in _chars:
        _L33T_LETTERS.setdefault(_ch, set()).add(_letter)
_ZXCVBN_LOCK = threading.Lock()

_SEPARATORS = re.compile(r"[\s._+\-]+")
_LEADING_NON_LETTERS = re.compile(r"^[^a-z]+")
_TRAILING_NON_LETTERS = re.compile(r"[^a-z]+$")
_LETTERS = re.compile(r"[a-z]+")


class WeakPassword(ValueError):
    """A password refused by the policy; `rule` is "length", "username", "dictionary" or "strength"."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"password refused: {reason}")
        self.rule = rule


def fold_text(s: str) -> str:
    """Fold case and strip accents (é -> e, ß -> ss); used for passwords and list words alike."""
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _substitution_variants(s: str) -> set[str]:
    """Every reading of `s` with look-alikes replaced (both readings of the first few "1"s)."""
    base = "".join(SUBSTITUTIONS.get(ch, ch) for ch in s)
    slots = [i for i, ch in enumerate(base) if ch in AMBIGUOUS_SUBSTITUTIONS]
    tried, rest = slots[:MAX_AMBIGUOUS_SUBSTITUTIONS], slots[MAX_AMBIGUOUS_SUBSTITUTIONS:]
    chars = list(base)
    for i in rest:
        chars[i] = AMBIGUOUS_SUBSTITUTIONS[base[i]][0]
    variants = set()
    for choice in itertools.product(*(AMBIGUOUS_SUBSTITUTIONS[base[i]] for i in tried)):
        for i, ch in zip(tried, choice, strict=True):
            chars[i] = ch
        variants.add("".join(chars))
    return variants


def _forms(password: str) -> set[str]:
    """The password as written, folded, without separators, and in every look-alike reading."""
    folded = fold_text(password)
    joined = _SEPARATORS.sub("", folded)
    forms = {folded, joined}
    for form in (folded, joined):
        forms |= _substitution_variants(form)
    return forms


def _cores(password: str) -> set[str]:
    """Letter-only stems: digits and punctuation stripped from the ends, look-alikes read."""
    folded = fold_text(password)
    cores = set()
    for form in (folded, _SEPARATORS.sub("", folded)):
        stripped = _TRAILING_NON_LETTERS.sub("", form)
        for base in {
            form,  # "P@ssw0rd"
            stripped,  # "Wachtwoord1", "L1berte!!"
            _LEADING_NON_LETTERS.sub("", form),
            _LEADING_NON_LETTERS.sub("", stripped),  # "2024Zonnebloem!"
        }:
            cores |= _substitution_variants(base)
    return {c for c in cores if c.isascii() and c.isalpha()}


@functools.cache
def wordlist(lang: str) -> frozenset[str]:
    """The folded words of language `lang` ("en", "nl" or "fr"), read once per process."""
    data = resources.files("postbus").joinpath("data", "wordlists", f"{lang}.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("ascii").split())


def _dictionary_match(word: str) -> str | None:
    if len(word) >= MIN_WORD_LENGTH:
        for lang, name in LANGUAGES.items():
            if word in wordlist(lang):
                return f"a dictionary word ({word}, {name})"
    if word in COMMON_PASSWORDS:
        return f"a very common password ({word})"
    return None


@functools.cache
def names() -> frozenset[str]:
    """First names and surnames: zxcvbn's English lists and our Dutch and French names."""
    text = resources.files("postbus").joinpath("data", "wordlists", "names.txt").read_text("ascii")
    ours = {w for line in text.splitlines() if not line.startswith("#") for w in line.split()}
    theirs = (set(FREQUENCY_LISTS["male_names"]) | set(FREQUENCY_LISTS["female_names"])
              | set(FREQUENCY_LISTS["surnames"]))
    return frozenset(w for w in ours | theirs if len(w) >= MIN_WORD_LENGTH and w.isalpha())


@functools.cache
def leaked_passwords() -> frozenset[str]:
    """zxcvbn's list of the most used passwords, letters-only ones of at least four letters."""
    return frozenset(w for w in FREQUENCY_LISTS["passwords"] if len(w) >= MIN_WORD_LENGTH and w.isalpha())


def _what(word: str) -> str | None:
    """What `word` is, for the "mostly one word" rule, or None."""
    for lang, name in LANGUAGES.items():
        if word in wordlist(lang):
            return f"a dictionary word ({word}, {name})"
    if word in COMMON_PASSWORDS or word in leaked_passwords():
        return f"a very common password ({word})"
    if word in names():
        return f"a name ({word})"
    return None


def _letter_readings(password: str) -> set[str]:
    """The letters of the password, as written and in every look-alike reading,
    with everything that is not a letter left out: "Amsterdam#1975x" -> "amsterdamx",
    "amsterdamitsx", "amsterdamltsx"."""
    folded = fold_text(password)
    readings = {folded} | _substitution_variants(folded)
    return {"".join(_LETTERS.findall(r)) for r in readings}


def _check_mostly_one_word(password: str) -> None:
    """Refuse a password that is at least half one known word (MOSTLY_ONE_WORD)."""
    shortest = max(MIN_WORD_LENGTH, -(-len(password) * MOSTLY_ONE_WORD[0] // MOSTLY_ONE_WORD[1]))
    for letters in sorted(_letter_readings(password)):
        n = len(letters)
        if shortest > MAX_WORD_LENGTH:
            continue  # no single word is that long: a long passphrase
        for length in range(min(n, MAX_WORD_LENGTH), shortest - 1, -1):
            for start in range(n - length + 1):
                what = _what(letters[start:start + length])
                if what:
                    raise WeakPassword("dictionary", f"it is mostly {what}")


def _is_word(word: str) -> bool:
    return word in COMMON_PASSWORDS or any(word in wordlist(lang) for lang in LANGUAGES)


def _name_tokens(username: str) -> set[str]:
    """The user's names: address, local part and its pieces, domain labels but the last."""
    local, at, domain = fold_text(username).rpartition("@")
    if not at:
        local, domain = domain, ""
    pieces = [p for p in _SEPARATORS.split(local) if p]
    labels = domain.split(".")[:-1] if domain else []
    tokens = {fold_text(username), local, "".join(pieces), *pieces, *labels}
    return {t for t in tokens if t}


def _check_username(password: str, tokens: set[str]) -> None:
    forms = _forms(password)
    forms |= {f[::-1] for f in forms}
    letters = {"".join(_LETTERS.findall(f)) for f in forms}
    for token in sorted(tokens, key=len, reverse=True):
        for variant in {token} | _substitution_variants(token):
            if len(variant) >= MIN_NAME_TOKEN_LENGTH:
                found = any(variant in f for f in forms)
            else:  # "jo" refuses "jojo2024!" but not "Major-Tom-7"
                found = any(ls and not ls.replace(variant, "") for ls in letters)
            if found:
                raise WeakPassword("username", f"it is based on the user name ({token})")


def _check_dictionary(password: str) -> str | None:
    """Raise for a single word; return "head + tail" when the password is two glued words."""
    cores = sorted(_cores(password))
    for core in cores:
        match = _dictionary_match(core)
        if match:
            raise WeakPassword("dictionary", f"it is {match}")
    for core in cores:
        first = max(MIN_WORD_LENGTH, len(core) - MAX_WORD_LENGTH)
        for i in range(first, min(MAX_WORD_LENGTH, len(core) - MIN_WORD_LENGTH) + 1):
            if _is_word(core[:i]) and _is_word(core[i:]):
                return f"{core[:i]} + {core[i:]}"
    return None


def _zxcvbn_input(password: str) -> str:
    """The longest prefix within zxcvbn's work bounds (see ZXCVBN_MAX_L33T_TABLES)."""
    seen: set[str] = set()
    for end, ch in enumerate(password[:ZXCVBN_MAX_INPUT]):
        if ch in _L33T_LETTERS and ch not in seen:
            seen.add(ch)
            # An upper bound on zxcvbn's enumeration: one choice per letter
            # among its look-alikes present, times two per ambiguous look-alike.
            tables = 1
            for chars in _L33T_TABLE.values():
                tables *= max(1, len(seen.intersection(chars)))
            tables <<= sum(1 for c in seen if len(_L33T_LETTERS[c]) > 1)
            if tables > ZXCVBN_MAX_L33T_TABLES:
                return password[:end]
    return password[:ZXCVBN_MAX_INPUT]


def _score(password: str, tokens: set[str]) -> int:
    # zxcvbn keeps the user inputs in a module global during the call.
    with _ZXCVBN_LOCK:
        result = zxcvbn(_zxcvbn_input(password), user_inputs=sorted(tokens))
    return int(result["score"])


@dataclass(frozen=True)
class PasswordPolicy:
    """The password rules; one instance is shared by every place that sets a password."""

    min_length: int = DEFAULT_MIN_LENGTH
    min_score: int = DEFAULT_MIN_SCORE
    max_length: int = MAX_PASSWORD_LENGTH

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length or not 0 <= self.min_score <= 4:
            raise ValueError("invalid password policy limits")

    def check(self, password: str, username: str) -> None:
        """Raise WeakPassword naming the first rule that `password` breaks for `username`."""
        self._check_length(password)
        tokens = _name_tokens(username)
        _check_username(password, tokens)
        glued = _check_dictionary(password)
        score = _score(password, tokens)
        if glued and score < self.min_score:
            raise WeakPassword("dictionary", f"it is two dictionary words joined ({glued})")
        if score < self.min_score:
            raise WeakPassword(
                "strength",
                f"it is too easy to guess (strength {score} of 4, {self.min_score} needed)",
            )
        # Last: zxcvbn rates some of these well ("Amsterdam#1975x" scores 3).
        _check_mostly_one_word(password)

    def _check_length(self, password: str) -> None:
        if len(password) < self.min_length:
            raise WeakPassword("length", f"it is shorter than {self.min_length} characters")
        if len(password) > self.max_length:
            raise WeakPassword("length", f"it is longer than {self.max_length} characters")
