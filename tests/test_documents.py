"""Tests for alnus.documents: one block structure written as Markdown and as HTML."""

from __future__ import annotations

import pytest

from alnus.documents import inline_html, to_html, to_markdown

BLOCKS = [
    ("heading", 1, "Card"),
    ("paragraph", "Uses `model.safetensors` and **frozen** thresholds."),
    ("bullets", ["one", "two"]),
    ("table", ["Item", "Answer"], [["1", "a | b"], ["2", "line\nbreak"]]),
    ("code", "json", '{"a": 1}\n'),
]


def test_markdown_has_each_block():
    text = to_markdown(BLOCKS)
    assert text.startswith("# Card\n\nUses `model.safetensors` and **frozen** thresholds.\n\n- one\n- two\n\n")
    assert "| Item | Answer |\n|---|---|\n| 1 | a \\| b |\n| 2 | line<br>break |" in text
    assert text.endswith('```json\n{"a": 1}\n```\n')


def test_html_has_each_block_and_escapes_values():
    page = to_html(BLOCKS + [("paragraph", "<script>alert(1)</script> & co")], title="Card <1>")
    assert page.startswith("<!DOCTYPE html>") and "<title>Card &lt;1&gt;</title>" in page
    assert "<h1>Card</h1>" in page and "<code>model.safetensors</code>" in page and "<strong>frozen</strong>" in page
    assert "<ul><li>one</li><li>two</li></ul>" in page and "<td>line<br>break</td>" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<pre><code>{&quot;a&quot;: 1}</code></pre>" in page


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a `b<c>` d", "a <code>b&lt;c&gt;</code> d"),
        ("**x** y", "<strong>x</strong> y"),
        ("a * b", "a * b"),
        ("one\ntwo", "one<br>two"),
    ],
)
def test_inline_html(text, expected):
    assert inline_html(text) == expected


@pytest.mark.parametrize(
    "block, match",
    [
        (("figure", "x"), "must be a tuple starting with one of heading"),
        (("heading", 7, "x"), "level must be 1 to 4"),
        (["paragraph", "x"], "must be a tuple"),
    ],
)
def test_bad_blocks_are_named(block, match):
    with pytest.raises(ValueError, match=match):
        to_markdown([block])
    with pytest.raises(ValueError, match=match):
        to_html([block], title="t")
