"""Page cursors and If-Match headers, the two things the HTTP API parses from clients' text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcms.http.cursor import Cursors
from crmcms.http.problems import HttpProblem
from crmcms.http.replies import etag, expected_version
from crmcms.storage.sql import PageKey

KEYS = st.builds(
    PageKey,
    st.integers(1, 2**62),
    st.none() | st.datetimes(timezones=st.just(UTC)),
)
CONTEXTS = st.text(max_size=40)


def _status(parse: Callable[[], object]) -> int | None:
    """The status of the problem ``parse`` raises, ``None`` if it parses."""
    try:
        parse()
    except HttpProblem as refused:
        return refused.status
    return None


@given(KEYS, CONTEXTS)
def test_a_cursor_gives_back_the_keyset_it_was_made_of(key: PageKey, context: str) -> None:
    cursors = Cursors(b"s" * 32)
    assert cursors.decode(cursors.encode(key, context), context) == key


@given(KEYS, CONTEXTS, st.data())
def test_an_edited_cursor_or_one_of_another_list_is_a_400(
    key: PageKey, context: str, data: st.DataObject
) -> None:
    cursors = Cursors(b"s" * 32)
    cursor = cursors.encode(key, context)
    i = data.draw(st.integers(0, len(cursor) - 1))
    changed = data.draw(st.sampled_from("AQZz09-_.=").filter(lambda c: c != cursor[i]))
    edited = cursor[:i] + changed + cursor[i + 1 :]
    for bad, where in ((edited, context), (cursor, context + "x"), (cursor[:-1], context)):
        with pytest.raises(HttpProblem) as refused:
            cursors.decode(bad, where)
        assert refused.value.status == 400
    with pytest.raises(HttpProblem):
        Cursors(b"t" * 32).decode(cursor, context)


@given(st.text(max_size=1200))
def test_any_text_as_a_cursor_is_a_400_or_a_keyset_never_a_crash(text: str) -> None:
    assert _status(lambda: Cursors(b"s" * 32).decode(text, "queue 67")) in (None, 400)


@given(st.integers(1, 10**18 - 1))
def test_an_etag_read_back_as_if_match_is_its_version(version: int) -> None:
    assert expected_version(etag(version)) == version
    assert expected_version(f"W/{etag(version)}") == version


@given(st.text(max_size=50).filter(lambda t: t.strip() != "*"))
def test_any_other_if_match_is_a_version_or_a_400(text: str) -> None:
    status = _status(lambda: expected_version(text))
    assert status in (None, 400)
    if status is None:
        assert str(expected_version(text)) in text
