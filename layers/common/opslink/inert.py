"""Inert text: what an alarm's author or a job's output wrote reaches a ticket as text,
never as markup. Pure; no I/O.

OpsLink writes its tickets in a small markdown (headings, tables, bold labels, links it
builds itself) and puts every untrusted value in a code span (`code`) or a fenced block
(`fenced`), with HTML stripped by a maintained sanitizer (nh3) first. A code span or
block is literal in every CommonMark renderer: no mention pings, no image loads, no link
is clickable, and its delimiter is longer than any backtick run inside, so the text can
never close it (CommonMark 0.31, 4.5 and 6.1). Each ticket adapter then renders the code
regions in its own system's literal form (`regions`): Jira's ADF code marks and blocks,
Jira wiki `{noformat}`, plain text defanged for ServiceNow journals and Zendesk.
Titles are plain everywhere: `title_text` strips markup and breaks mentions."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

ZWSP = "\u200b"  # zero-width space: breaks a mention or an autolink, invisible to a reader
_BACKTICKS = re.compile(r"`+")


def strip_html(text: str) -> str:
    """Text with every HTML tag removed (nh3, i.e. ammonia), entities decoded; repeated
    until stable, so an escaped tag cannot come back as a real one."""
    import nh3

    for _ in range(5):
        cleaned = html.unescape(nh3.clean(text, tags=set(), attributes={}))
        if cleaned == text:
            return text
        text = cleaned
    return html.escape(text)


def _longest_run(text: str) -> int:
    return max((len(m) for m in _BACKTICKS.findall(text)), default=0)


def code(text: str) -> str:
    """One line of untrusted text as a CommonMark code span."""
    body = " ".join(strip_html(str(text)).split())
    if not body:
        return "` `"
    ticks = "`" * (_longest_run(body) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def fenced(text: str, strip: bool = True) -> list[str]:
    """Untrusted text, several lines, as a fenced code block whose fence is longer than
    any backtick run inside (job output printing its own ``` cannot close it)."""
    body = strip_html(text) if strip else text
    fence = "`" * max(3, _longest_run(body) + 1)
    return [fence, body, fence]


def title_text(text: str) -> str:
    """A ticket title from untrusted text: no HTML, no image or link markup, no mention,
    on one line."""
    text = " ".join(strip_html(text).split())
    text = text.replace("![", "!" + ZWSP + "[").replace("](", "]" + ZWSP + "(")
    return defang(text)


def defang(text: str) -> str:
    """Plain text that no linkifier or mention parser acts on: `@name`, `://`, `www.`,
    `[code]` (ServiceNow's journal HTML escape hatch) and `{html}` (Jira wiki) broken by
    an invisible character."""
    text = re.sub(r"@(?=[A-Za-z0-9_.\-\[])", "@" + ZWSP, text)
    text = text.replace("://", ":" + ZWSP + "//")
    text = re.sub(r"(?i)\bwww\.", lambda m: m.group(0)[:3] + ZWSP + ".", text)
    text = re.sub(r"(?i)\[(/?code)\]", "[" + ZWSP + r"\1]", text)
    return re.sub(r"(?i)\{(html|noformat|code)", "{" + ZWSP + r"\1", text)


def regions(markdown: str) -> Iterator[tuple[str, str]]:
    """The document as ("text" | "code" | "block", content) regions, in order: OpsLink's
    own markup in "text", untrusted values in "code" (a span) and "block" (a fence)."""
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^(`{3,})\s*$", lines[i])
        if fence:
            ticks = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != ticks:
                body.append(lines[i])
                i += 1
            yield "block", "\n".join(body)
            i += 1
            if i < len(lines):
                yield "text", "\n"
            continue
        yield from spans(lines[i])
        if i + 1 < len(lines):
            yield "text", "\n"
        i += 1


def spans(line: str) -> Iterator[tuple[str, str]]:
    pos = 0
    for m in _BACKTICKS.finditer(line):
        if m.start() < pos:
            continue
        closing = re.compile(r"(?<!`)" + m.group(0) + r"(?!`)")
        end = closing.search(line, m.end())
        if end is None:
            continue
        if m.start() > pos:
            yield "text", line[pos : m.start()]
        inner = line[m.end() : end.start()]
        if len(inner) > 2 and inner.startswith(" ") and inner.endswith(" "):
            inner = inner[1:-1]
        yield "code", inner
        pos = end.end()
    if pos < len(line):
        yield "text", line[pos:]


def plain(markdown: str) -> str:
    """For systems that show plain text but linkify or parse it (ServiceNow journal and
    description, Zendesk comments): OpsLink's markup kept, untrusted regions defanged."""
    out = []
    for kind, content in regions(markdown):
        if kind == "text":
            out.append(content)
        elif kind == "code":
            out.append(defang(content))
        else:
            out.append("\n".join(("    " + defang(line)) for line in content.split("\n")))
    return "".join(out)


def textile(markdown: str) -> str:
    """Redmine's Textile: untrusted spans in <code>, blocks in <pre>, HTML-escaped."""
    out = []
    for kind, content in regions(markdown):
        if kind == "text":
            out.append(content)
        elif kind == "code":
            out.append("<code>" + html.escape(defang(content)) + "</code>")
        else:
            out.append("<pre>\n" + html.escape(defang(content)) + "\n</pre>")
    return "".join(out)


def render(markup: str, markdown: str) -> str:
    """OpsLink's markdown in a ticket system's markup (its adapter's `markup`)."""
    if markup == "plain":
        return plain(markdown)
    if markup == "wiki":
        return jira_wiki(markdown)
    if markup == "textile":
        return textile(markdown)
    return markdown  # CommonMark as is; "adf": the Jira adapter builds ADF from regions


_WIKI_SPECIAL = re.compile(r"([\[\]{}!|*_~^+?#\-\\])")


def jira_wiki(markdown: str) -> str:
    """Jira wiki markup (Server/Data Center REST v2): untrusted spans escaped, blocks in
    {noformat} (which nothing inside can close)."""
    out = []
    for kind, content in regions(markdown):
        if kind == "text":
            out.append(content)
        elif kind == "code":
            out.append("{{" + _WIKI_SPECIAL.sub(r"\\\1", defang(content)) + "}}")
        else:
            out.append("{noformat}\n" + defang(content) + "\n{noformat}")
    return "".join(out)


def md_cell(text: str) -> str:
    """A table cell of untrusted text: a code span, its pipes escaped (GFM tables split
    on | even inside code spans)."""
    return code(text).replace("|", "\\|")
