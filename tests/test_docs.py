"""The README and docs/: the README stays short and keeps what others read in it, every relative
link resolves to a file and heading that exist, and the generated pages are what tools/gen_docs.py
renders from their sources."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from security import gate
from tools import gen_docs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_LIMIT = 16_000

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def doc_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (code spans, links and emphasis reduced to their
    text) in lower case, without punctuation but hyphens and underscores, each space a hyphen."""
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a Markdown file offers: its headings' (a repeated one gets -1, -2, ...) and
    explicit ``<a name=...>``/``id=...``."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(path.read_text(encoding="utf-8")):
        found.update(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """Every link target in a Markdown file, outside code blocks and code spans."""
    targets = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            targets.append(definition.group(1))
            continue
        targets += INLINE_LINK.findall(CODE_SPAN.sub("", line))
    return targets


def broken_links(path: Path) -> list[str]:
    """The relative links of ``path`` whose file or heading does not exist."""
    problems = []
    for target in links(path):
        if SCHEME.match(target):
            continue  # http(s), mailto: not checked here
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path.resolve()
        if not resolved.exists():
            problems.append(f"{path.name}: {target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{path.name}: {target}: no heading with anchor #{anchor} in {resolved.name}")
    return problems


def test_the_readme_is_under_16000_characters():
    size = len(README.read_text(encoding="utf-8"))
    assert size < README_LIMIT, f"README.md has {size} characters: move detail to docs/ (limit {README_LIMIT})"


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    assert broken_links(path) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Its part (`code`)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#its-part-code) [self](#page) [web](https://example.com/x)\n"
        "[gone](missing.md) [no heading](other.md#nothing) `[in code](missing.md)`\n"
        "```\n[in a block](missing.md)\n```\n"
    )
    assert broken_links(page) == [
        "page.md: missing.md: no such file",
        "page.md: other.md#nothing: no heading with anchor #nothing in other.md",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "Set up and run (fresh machine: Python 3.11+, Node 20+, npm)",
            "set-up-and-run-fresh-machine-python-311-node-20-npm",
        ),
        ("Who may call the API (`api_auth`)", "who-may-call-the-api-api_auth"),
        ("2. On the pull request: `.github/workflows/ci.yml`", "2-on-the-pull-request-githubworkflowsciyml"),
        ("Status: CDKTF is archived; two engines", "status-cdktf-is-archived-two-engines"),
    ],
)
def test_anchors_are_githubs(heading, anchor):
    assert slug(heading) == anchor


def test_the_readme_keeps_what_others_read_in_it():
    """CI runs "the README's test command" (.ci/run); the set-up table promises one command that
    synthesizes the default stacks and one that runs the tests; a settings error points at the
    README's Configuration section; the settings reference lives in docs/configuration.md alone."""
    readme = README.read_text(encoding="utf-8")
    assert "| synthesize the default stacks into `cdktf.out/` | `make synth` |" in readme
    assert "| run the tests | `make test` |" in readme
    assert "## Configuration" in readme and "docs/configuration.md" in links(README)
    assert "| setting |" not in readme, "the settings table belongs to docs/configuration.md"


def test_the_readme_names_the_terraform_version_ci_uses():
    versions = {
        version
        for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml"))
        for version in re.findall(r'terraform_version:\s*"([^"]+)"', workflow.read_text())
    }
    assert len(versions) == 1, versions
    assert f"CI uses {versions.pop()}" in README.read_text(encoding="utf-8")


def test_generated_docs_are_up_to_date():
    stale = gen_docs.stale_pages(gen_docs.render_all())
    assert stale == [], f"generated docs out of date: {', '.join(stale)}; run `make docs`"


def test_gen_docs_check_lists_stale_pages_and_writes_nothing(tmp_path, capsys):
    assert gen_docs.main(["--check"], root=tmp_path) == 1
    assert "stale: docs/security.md" in capsys.readouterr().err
    assert not (tmp_path / "docs").exists()
    assert gen_docs.main([], root=tmp_path) == 0
    assert (tmp_path / "docs" / "security.md").read_text() == gen_docs.security_page()
    assert gen_docs.main(["--check"], root=tmp_path) == 0


def test_the_security_page_renders_the_accepted_findings_file(tmp_path):
    """Every accepted finding is on the page, and the table follows the file: an entry added to a
    copy of it appears in what the generator renders."""
    page = gen_docs.security_page()
    for entry in gate.load_accepted():
        assert f"| {entry.check} | `{entry.resource}` | {gen_docs.table_cell(entry.reason)} |" in page
    copy = tmp_path / "accepted_findings.toml"
    copy.write_text(
        gate.DEFAULT_ACCEPTED.read_text()
        + '\n[[accepted]]\ncheck = "CKV_AWS_999"\nresource = "aws_sqs_queue.*"\nstack = "x-*"\n'
        + 'reason = "A reason | with a pipe and a *."\n'
    )
    table = gen_docs.accepted_findings_table(copy)
    assert table.splitlines()[-1] == (
        "| CKV_AWS_999 | `aws_sqs_queue.*` in stacks `x-*` | A reason \\| with a pipe and a \\*. |"
    )


def test_every_documented_destroy_lifts_the_tables_protection_for_its_own_plan():
    """With table_deletion_protection on, the table carries prevent_destroy: a destroy of the global
    stack (which holds it) synthesized from the plain settings stops at its plan. Each documented
    destroy of it carries the override; a region's or the edge's destroy needs none."""
    from constructs_lib.settings import StackConfig

    commands = [
        line
        for page in (README, *sorted((ROOT / "docs").glob("*.md")))
        for line in page.read_text(encoding="utf-8").splitlines()
        if re.search(r"cdktf destroy '?iac-aws-nova-dev-(global|\*)", line)
    ]
    assert commands
    for command in commands:
        override = re.search(r"CDKTF_CONTEXT_JSON='([^']*)' npx cdktf destroy", command)
        assert override, f"a destroy without the override: {command.strip()}"
        settings = json.loads(override.group(1))
        assert StackConfig(**settings).table_deletion_protection is False
