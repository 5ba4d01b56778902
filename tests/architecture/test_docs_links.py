"""Every relative link in README and the docs pages leads somewhere: README is short and points into docs/, so a
page renamed, a heading reworded or a picture moved would leave a reader at a dead link without this."""

import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = ["README.md", "bench/README.md"] + sorted(
    os.path.join("docs", name) for name in os.listdir(os.path.join(REPO, "docs")) if name.endswith(".md"))
# [text](target) and ![alt](target); a target ends at the first space (a title may follow) or ')'.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(path: str) -> set[str]:
    """The anchors a Markdown file's headings give (a repeated heading gets -1, -2 ... as on GitHub)."""
    text = FENCE.sub("", open(path, encoding="utf-8").read())
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def dead_links(page: str, repo: str = REPO) -> list[str]:
    """The relative links of one page whose file, or whose anchor in that file, does not exist."""
    path = os.path.join(repo, page)
    text = FENCE.sub("", open(path, encoding="utf-8").read())
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are text, not links
    dead = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(linked):
            dead.append(f"{target} (no file {os.path.relpath(linked, repo)})")
        elif anchor and linked.endswith(".md") and anchor not in anchors(linked):
            dead.append(f"{target} (no heading with the anchor #{anchor})")
    return dead


@pytest.mark.parametrize("page", PAGES)
def test_every_relative_link_and_anchor_resolves(page):
    assert dead_links(page) == []


def test_the_check_finds_a_dead_file_and_a_dead_anchor(tmp_path):
    """The test above can fail: a missing file and a heading that is not there are both reported."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Running with `qgis_process`\n")
    (tmp_path / "README.md").write_text(
        "[ok](docs/a.md#running-with-qgis_process) [ok](#top-level) [web](https://example.org/x)\n"
        "`[code](nowhere.md)`\n\n# Top level\n\n"
        "[gone](docs/b.md) [wrong anchor](docs/a.md#running) ![pic](docs/p.png)\n")
    assert dead_links("README.md", str(tmp_path)) == ["docs/b.md (no file docs/b.md)",
                                       "docs/a.md#running (no heading with the anchor #running)",
                                       "docs/p.png (no file docs/p.png)"]


def test_readme_stays_short_and_links_every_docs_page():
    """README is for a geologist: about 250 lines, and every page in docs/ reachable from it."""
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert len(text.splitlines()) <= 260
    linked = {os.path.normpath(target.partition("#")[0]) for target in LINK.findall(text)}
    assert [page for page in PAGES if page.startswith("docs") and page not in linked] == []
