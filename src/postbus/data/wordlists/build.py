"""Build the trimmed word lists of the password policy from pyspellchecker's data.

Run from the repository root with the project's virtualenv:

    .venv/bin/python src/postbus/data/wordlists/build.py

It reads pyspellchecker's frequency dictionaries (`spellchecker/resources/
{en,nl,fr}.json.gz`, word -> count from OpenSubtitles) and writes `{lang}.txt.gz`
beside this file: one word per line, most frequent first. Trimming, in order:
drop words at pyspellchecker's floor count (50), which are words added from
spelling lists without any corpus count (for Dutch, ~288k rare OpenTaal
compounds: the noisy part of that list); fold case and accents with the same
`fold_text` the policy applies to passwords and keep only results of at least
four letters a-z; keep the first spelling of duplicates after folding; keep the
`TOP_N` most frequent. The output is deterministic (sorted by count then word,
gzip without a timestamp), so rerunning it with the same pyspellchecker version
changes no byte. See README.md for the numbers and licences.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from importlib import metadata, resources
from pathlib import Path

from postbus.accounts.policy import LANGUAGES, MIN_WORD_LENGTH, fold_text

TOP_N = 50_000
FLOOR_COUNT = 50  # pyspellchecker's count for words with no corpus evidence
_WORD = re.compile(rf"[a-z]{{{MIN_WORD_LENGTH},}}")
OUT_DIR = Path(__file__).resolve().parent


def build(lang: str) -> list[str]:
    raw = resources.files("spellchecker").joinpath("resources", f"{lang}.json.gz").read_bytes()
    counts: dict[str, int] = json.loads(gzip.decompress(raw))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    words: dict[str, None] = {}
    for word, count in ranked:
        if count <= FLOOR_COUNT:
            break
        folded = fold_text(word)
        if _WORD.fullmatch(folded):
            words.setdefault(folded)
            if len(words) == TOP_N:
                break
    return list(words)


def main() -> int:
    version = metadata.version("pyspellchecker")
    for lang in LANGUAGES:
        words = build(lang)
        data = ("\n".join(words) + "\n").encode("ascii")
        (OUT_DIR / f"{lang}.txt.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        print(f"{lang}: {len(words)} words (pyspellchecker {version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
