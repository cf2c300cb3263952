"""Small documents written twice from one structure: Markdown (the file to
file or edit) and standalone HTML (what the Snakemake report shows inline,
since it offers other text files only as downloads).

A document is a list of blocks, each a tuple:

- ``("heading", level, text)`` with level 1 to 4;
- ``("paragraph", text)``;
- ``("bullets", [text, ...])``;
- ``("table", [header, ...], [[cell, ...], ...])``;
- ``("code", language, text)``, shown verbatim.

Text may hold ``code`` spans in backticks and **bold** spans; everything
else is escaped, so that a value read from a run's files can never inject
markup into the report.
"""

from __future__ import annotations

import html
import re

INLINE = re.compile(r"(`[^`]+`|\*\*[^*]+\*\*)")
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;line-height:1.45}"
    "table{border-collapse:collapse;margin:0.5rem 0 1rem}th,td{border:1px solid #bbb;padding:0.25rem 0.5rem;"
    "vertical-align:top;text-align:left}th{background:#eee}code{background:#f4f4f4;padding:0 0.2rem}"
    "pre{background:#f4f4f4;padding:0.5rem;overflow-x:auto}"
)
KINDS = ("heading", "paragraph", "bullets", "table", "code")


def _check(block) -> None:
    if not isinstance(block, tuple) or not block or block[0] not in KINDS:
        raise ValueError(f"a document block must be a tuple starting with one of {', '.join(KINDS)}, got {block!r}")
    if block[0] == "heading" and block[1] not in (1, 2, 3, 4):
        raise ValueError(f"heading level must be 1 to 4, got {block[1]!r}")


def _md_cell(text) -> str:
    """A Markdown table cell: pipes escaped, line breaks as <br>."""
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def to_markdown(blocks: list[tuple]) -> str:
    """The document as GitHub-flavoured Markdown.

    Raises
    ------
    ValueError
        If a block is not one of the kinds above.
    """
    parts = []
    for block in blocks:
        _check(block)
        kind = block[0]
        if kind == "heading":
            parts.append("#" * block[1] + " " + block[2])
        elif kind == "paragraph":
            parts.append(block[1])
        elif kind == "bullets":
            parts.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            header, rows = block[1], block[2]
            lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            parts.append("\n".join(lines))
        else:
            parts.append(f"```{block[1]}\n{block[2].rstrip()}\n```")
    return "\n\n".join(parts) + "\n"


def inline_html(text) -> str:
    """Escaped text with its `code` and **bold** spans as HTML; line breaks as <br>."""
    out = []
    for piece in INLINE.split(str(text)):
        if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            out.append(f"<code>{html.escape(piece[1:-1])}</code>")
        elif piece.startswith("**") and piece.endswith("**") and len(piece) > 3:
            out.append(f"<strong>{html.escape(piece[2:-2])}</strong>")
        else:
            out.append(html.escape(piece))
    return "".join(out).replace("\n", "<br>")


def to_html(blocks: list[tuple], *, title: str) -> str:
    """The document as one standalone HTML page (inline style, no scripts).

    Raises
    ------
    ValueError
        If a block is not one of the kinds above.
    """
    body = []
    for block in blocks:
        _check(block)
        kind = block[0]
        if kind == "heading":
            body.append(f"<h{block[1]}>{inline_html(block[2])}</h{block[1]}>")
        elif kind == "paragraph":
            body.append(f"<p>{inline_html(block[1])}</p>")
        elif kind == "bullets":
            body.append("<ul>" + "".join(f"<li>{inline_html(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{inline_html(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in row) + "</tr>" for row in block[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            body.append(f"<pre><code>{html.escape(block[2].rstrip())}</code></pre>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
