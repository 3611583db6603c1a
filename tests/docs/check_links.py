#!/usr/bin/python3
"""The documentation's links hold.

Checks README.md and every docs/*.md: each relative link (Markdown `[text](target)` and
`![alt](target)`, outside code) names a file or folder that exists, each `#anchor` (on its own or
after a .md target) names a heading of that page, as GitHub makes anchors from headings; and every
docs/*.md page is linked from README.md or from another docs page. Fails naming the file and line.
Run by CTest as unit.docs_links:

    /usr/bin/python3 tests/docs/check_links.py SOURCE_DIR
"""

import os
import re
import sys
import unicodedata
from urllib.parse import unquote

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, ...


def slug(heading):
    """GitHub's anchor for a heading: inline markup dropped, lower case, punctuation but - and _
    removed, spaces to -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    kept = []
    for c in text:
        category = unicodedata.category(c)
        if c in "-_" or category[0] in "LN" or category == "Mn":
            kept.append(c)
        elif c == " ":
            kept.append("-")
    return "".join(kept)


def lines_outside_code(text):
    """(line number, line) of the lines not inside a fenced code block."""
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * 3
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        yield number, line


def anchors(text):
    """Every anchor a page defines: its headings' slugs (a repeated one gets -1, -2, ...)."""
    seen = {}
    found = set()
    for _, line in lines_outside_code(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text):
    """(line number, target) of every link outside code."""
    for number, line in lines_outside_code(text):
        line = re.sub(r"(`+)(?:(?!\1).)+?\1", lambda m: " " * len(m.group(0)), line)  # inline code
        for match in LINK.finditer(line):
            yield number, match.group(1)


def pages(root):
    """README.md and docs/*.md, as paths relative to root."""
    found = ["README.md"]
    docs = os.path.join(root, "docs")
    found += sorted(f"docs/{name}" for name in os.listdir(docs) if name.endswith(".md"))
    return found


def check(root):
    """The problems found, as 'file:line: what' lines."""
    problems = []
    texts = {}
    for page in pages(root):
        with open(os.path.join(root, page), encoding="utf-8") as f:
            texts[page] = f.read()
    page_anchors = {page: anchors(text) for page, text in texts.items()}
    linked = set()
    for page, text in texts.items():
        folder = os.path.dirname(page)
        for line, target in links(text):
            if EXTERNAL.match(target):
                continue
            path, _, anchor = target.partition("#")
            path, anchor = unquote(path), unquote(anchor)
            if path.startswith("/"):
                problems.append(f"{page}:{line}: {target}: a link must be relative to the page, not to /")
                continue
            resolved = os.path.normpath(os.path.join(folder, path)) if path else page
            if not os.path.exists(os.path.join(root, resolved)):
                problems.append(f"{page}:{line}: {target}: {resolved} does not exist")
                continue
            if resolved != page:
                linked.add(resolved)
            if anchor:
                if resolved not in page_anchors:
                    if resolved.endswith(".md"):
                        with open(os.path.join(root, resolved), encoding="utf-8") as f:
                            page_anchors[resolved] = anchors(f.read())
                    else:
                        problems.append(f"{page}:{line}: {target}: an anchor into {resolved}, which is not a page")
                        continue
                if anchor not in page_anchors[resolved]:
                    problems.append(f"{page}:{line}: {target}: {resolved} has no heading with the anchor #{anchor}")
    for page in texts:
        if page.startswith("docs/") and page not in linked:
            problems.append(f"{page}:1: no link to this page from README.md or another docs page")
    return problems


def self_test():
    """The anchors GitHub makes, and a broken link and anchor found in a sample."""
    cases = {
        "Heat, Crank–Nicolson (R = 10)": "heat-cranknicolson-r--10",
        "Checking a run before it starts: `--plan`": "checking-a-run-before-it-starts---plan",
        "Reading /heat/u by point and by snapshot": "reading-heatu-by-point-and-by-snapshot",
        "The other formats: .npz, .json, .csv": "the-other-formats-npz-json-csv",
        "`slab heat`": "slab-heat",
        "Input files for `--data`": "input-files-for---data",
    }
    for heading, want in cases.items():
        if slug(heading) != want:
            sys.exit(f"check_links.py: the anchor of {heading!r} is {slug(heading)!r}, expected {want!r}")
    sample = "# A\n## `A`\n[x](b.md#c) ![i](p.png)\n```\n[not](a link)\n```\n`[nor](this)` [y](#a-1) [z](https://x/y)\n"
    if anchors(sample) != {"a", "a-1"}:
        sys.exit(f"check_links.py: repeated headings give {sorted(anchors(sample))}")
    if list(links(sample)) != [(3, "b.md#c"), (3, "p.png"), (7, "#a-1"), (7, "https://x/y")]:
        sys.exit(f"check_links.py: the links of the sample are {list(links(sample))}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_links.py SOURCE_DIR")
    self_test()
    root = sys.argv[1]
    problems = check(root)
    if problems:
        print("\n".join(problems))
        print(f"{len(problems)} broken or missing link(s) in README.md and docs/")
        return 1
    print(f"{len(pages(root))} pages: every relative link and anchor resolves, every docs page is linked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
