"""The README and docs/ pages: links that resolve, a front page that fits one
screen, pictures readable at page width, and a package-index description
without what the index cannot show."""

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def links(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code is not a link
    return LINK.findall(text)


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_relative_link_resolves(page):
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: broken link {target}"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"(?m)^#+ (.+)$", resolved.read_text(encoding="utf-8"))
            slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
            assert anchor in slugs, f"{page.name}: no heading for #{anchor} in {path or page.name}"


def test_the_front_page_says_what_it_is_in_one_screen():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    front = text.split("## Learn backprop with it")[0]
    assert len(front.splitlines()) <= 65
    assert "make demo" in front and "make test" in front
    assert "SSE.backward()" in front and "Eq. 6.30" in front
    assert len(re.findall(r"!\[", front)) == 1


def test_pictures_on_the_front_page_read_at_page_width():
    for target in links(ROOT / "README.md"):
        if target.endswith(".svg") and "ten_lines" in target:
            svg = (ROOT / target).read_text(encoding="utf-8")
            width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
            assert width <= 700, f"{target} is {width}pt wide"


def test_the_package_index_description_has_no_pictures_or_relative_links():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    description = ROOT / project["readme"]
    for target in links(description):
        assert re.match(r"https?://", target), f"{project['readme']}: {target} would be broken on the index"
    assert "<img" not in description.read_text(encoding="utf-8")


def readme_snippets():
    """The README's python blocks, but the one that quotes generated code (it is a quote, not a program)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    generated = re.search(r"## The derivation, generated.*?```python\n(.*?)```", text, re.S).group(1)
    return [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if block != generated]


@pytest.mark.parametrize("number", range(len(readme_snippets())))
def test_every_readme_snippet_runs_alone_and_imports_what_it_uses(number, tmp_path, monkeypatch, capsys):
    # Issue 19: the check snippet used np and mg without importing them.
    monkeypatch.chdir(tmp_path)
    snippet = readme_snippets()[number]
    namespace = {"__name__": "__main__"}
    exec(compile(snippet, f"README.md snippet {number + 1}", "exec"), namespace)
    if "check_derivation" in snippet:
        report = namespace["report"]
        assert report.ok is False and "WRONG in 6 of 6 cases" in report.verdict()
        assert report.diagnosis.startswith("the sum over output nodes is missing: w[i,h] reaches the SSE through H_h")


def test_the_readme_quotes_whole_lines_of_the_generated_code():
    import subprocess
    import sys

    from readme_text import assert_quotes_whole_lines

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"## The derivation, generated.*?```python\n(.*?)```", text, re.S).group(1)
    printed = subprocess.run([sys.executable, "-m", "minigrad", "compile", "--layers", "2", "2", "2"],
                             capture_output=True, text=True, timeout=120, cwd=ROOT, check=True).stdout
    assert len([line for line in quoted.splitlines() if line.strip()]) >= 12
    assert_quotes_whole_lines(quoted, printed)
