"""docs/reference/configuration.md's key tables are generated from the declarations in
webhook_guard.config (python -m webhook_guard.config.reference); the page must be exactly
what the generator writes, so it cannot drift from the parser and the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook_guard.config import reference

PAGE = Path(__file__).resolve().parent.parent / "docs" / "reference" / "configuration.md"


def test_the_committed_page_is_what_the_generator_writes() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert reference.render(text, PAGE) == text, (
        "docs/reference/configuration.md differs from the declarations: "
        "run python -m webhook_guard.config.reference"
    )


def test_every_declared_mapping_has_its_table_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for name in reference.TABLES:
        assert text.count(f"<!-- keys: {name} -->") == 1, name


def test_check_fails_on_a_stale_page_and_the_generator_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A copy of the page among links to the other pages (the generator reads their titles).
    for entry in PAGE.parent.parent.iterdir():
        (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "reference").unlink()
    (tmp_path / "reference").mkdir()
    page = tmp_path / "reference" / "configuration.md"
    fresh = PAGE.read_text(encoding="utf-8")
    page.write_text(fresh.replace("| `tolerance` | `300` |", "| `tolerance` | `600` |"))
    assert reference.main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().out
    assert reference.main([str(page)]) == 0
    assert page.read_text(encoding="utf-8") == fresh
    assert reference.main(["--check", str(page)]) == 0


def test_an_unknown_table_name_is_an_error(tmp_path: Path) -> None:
    text = "<!-- keys: routes.nosuch -->\n<!-- end keys -->\n"
    with pytest.raises(ValueError, match=r"routes\.nosuch"):
        reference.render(text, tmp_path / "configuration.md")


def test_a_rows_cells_come_from_its_declaration() -> None:
    rows = reference.table("defaults").splitlines()
    tolerance = next(row for row in rows if row.startswith("| `tolerance` "))
    assert tolerance.startswith("| `tolerance` | `300` | integer, 1 to 604800 | ")
    routes = reference.table("routes").splitlines()
    assert any(row.startswith("| `name` | required | ") for row in routes)


def test_a_missing_page_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reference.main(["--check", str(tmp_path / "nowhere.md")]) == 2
    assert "no such file" in capsys.readouterr().out
