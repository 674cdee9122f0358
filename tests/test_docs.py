"""The documentation tells the truth about the code: the settings table is the settings, links lead somewhere,
and the README's map of the repository names folders and files that exist.

Fast on purpose (no dbt, no Dagster): it reads Markdown files and the ``settings`` module only.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import alerting.destinations
import settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SETTINGS_DOC = DOCS / "settings.md"
# Every Markdown page a reader of the repository is pointed to.
PAGES = sorted([README, ROOT / "orchestration" / "README.md", *DOCS.glob("*.md")])

LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```")


def prose_lines(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def section(page: Path, heading: str) -> list[str]:
    """The prose lines under a heading, up to the next heading of the same or a higher level."""
    lines = prose_lines(page)
    level = heading.split(" ", 1)[0]
    start = lines.index(heading) + 1
    for end in range(start, len(lines)):
        marks = lines[end].split(" ", 1)[0]
        if set(marks) == {"#"} and len(marks) <= len(level):
            return lines[start:end]
    return lines[start:]


def table_rows(lines: list[str]) -> list[list[str]]:
    """The cells of the first Markdown table in ``lines``, header and separator left out."""
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


def unquoted(cell: str) -> str:
    """A cell holding one code span (or nothing): its text."""
    if not cell:
        return ""
    assert cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2, cell
    return cell[1:-1]


def anchors(page: Path) -> set[str]:
    """The anchors Markdown renderers give the page's headings: lower case, punctuation dropped, spaces as hyphens."""
    found: set[str] = set()
    for line in prose_lines(page):
        if match := re.match(r"^#{1,6} (.+)$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            candidate, n = slug, 0
            while candidate in found:
                n += 1
                candidate = f"{slug}-{n}"
            found.add(candidate)
    return found


def test_settings_table_is_the_settings():
    rows = table_rows(section(SETTINGS_DOC, "## Fixed settings"))
    documented = [(unquoted(variable), unquoted(default), description) for variable, default, description in rows]

    expected = settings.settings_table()
    rows_to_write = "\n".join(f"| `{v}` | {f'`{d}`' if d else ''} | {text} |" for v, d, text in expected)

    assert documented == expected, f"docs/settings.md is out of date; its table rows are:\n{rows_to_write}"


def test_webhook_variables_are_the_ones_alerting_reads():
    rows = table_rows(section(SETTINGS_DOC, "## Alert webhook destinations"))
    documented = [unquoted(row[0]).removeprefix(settings.ALERT_WEBHOOK_PREFIX + "<NAME>_") for row in rows]
    read = re.findall(r"^``([A-Z_]+)``", alerting.destinations.__doc__ or "", flags=re.MULTILINE)

    assert documented == ["URL", "FORMAT", "SECRET", "MIN_SEVERITY", "ALERT_TYPES"]
    assert read == documented


def test_every_relative_link_leads_to_a_file_and_heading_that_exist():
    broken = []
    for page in PAGES:
        for line in prose_lines(page):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue  # http(s), mailto: not ours to check
                path, _, anchor = target.partition("#")
                linked = (page.parent / path).resolve() if path else page
                if not linked.exists() or not linked.is_relative_to(ROOT):
                    broken.append(f"{page.relative_to(ROOT)}: {target}")
                elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
                    broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")

    assert broken == []


def readme_map() -> list[str]:
    """Every path in the second column of the README's "Where things live" table."""
    rows = table_rows(section(README, "## Where things live"))
    return [path for _, lives_in in rows for path in re.findall(r"`([^`]+)`", lives_in)]


def test_readme_map_names_only_paths_that_exist():
    paths = readme_map()

    assert len(paths) > 20
    assert [path for path in paths if not (ROOT / path).exists()] == []


def test_readme_map_lists_every_top_level_folder():
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip().endswith("/") and "/" not in line.strip().rstrip("/")
    ]
    folders = {
        entry.name
        for entry in ROOT.iterdir()
        if entry.is_dir()
        and not entry.name.startswith(".")
        and not any(fnmatch.fnmatch(entry.name, pattern) for pattern in ignored)
    }
    listed = {path.split("/", 1)[0] for path in readme_map()}

    assert sorted(listed) == [
        ".ci",
        "alerting",
        "benchmarks",
        "billing",
        "cli",
        "dbt_project",
        "docs",
        "ingestion",
        "orchestration",
        "pricing",
        "pricing_seeds",
        "sample_platform",
        "settings",
        "tests",
        "warehouse",
    ]
    assert sorted(folders - listed) == []
