"""What a browser sends is parsed by pure functions that raise nothing but
`BadRequest` (STYLE habit 8), whatever the input."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from postbus.web.webmail import i18n
from postbus.web.webmail.auth import is_local
from postbus.web.webmail.context import BadRequest
from postbus.web.webmail.listing import SORTS, ListQuery, quick_search
from postbus.web.webmail.parts import parse_path
from postbus.web.webmail.search import AdvancedQuery
from postbus.web.webmail.security import tokens_match

text = st.text(max_size=400)
params = st.dictionaries(st.sampled_from(["folder", "page", "sort", "order", "q", "since",
                                          "before", "unread", "attachment"]), text)


@settings(max_examples=300)
@given(params)
def test_list_and_search_queries(values: dict[str, str]) -> None:
    for parse in (ListQuery.parse, AdvancedQuery.parse):
        try:
            query = parse(values)
        except BadRequest:
            continue
        if isinstance(query, ListQuery):
            assert query.sort in SORTS and 1 <= query.page
            assert quick_search(query.search) is not None


@settings(max_examples=300)
@given(text)
def test_small_parsers(value: str) -> None:
    path = parse_path(value)
    assert path is None or all(n > 0 for n in path)
    assert i18n.negotiate(value) in i18n.LANGUAGES
    local = is_local("/webmail/", value)
    if local:
        path = unquote(urlsplit(value).path)
        assert value.startswith("/webmail/") and not {".", ".."} & set(path.split("/"))
    assert tokens_match(value, "expected-token") == (value == "expected-token")
