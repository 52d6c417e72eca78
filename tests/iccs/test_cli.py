from __future__ import annotations

from typer.testing import CliRunner

from iccs.cli import app

runner = CliRunner()


def test_taxonomy_show_prints_path_and_definition() -> None:
    result = runner.invoke(app, ["taxonomy", "show", "020111"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "02 > 0201 > 02011 > 020111 Serious assault" in result.output
    assert "serious bodily injury" in result.output
    assert "Inclusions" in result.output


def test_taxonomy_show_lists_children_in_spanish() -> None:
    result = runner.invoke(
        app, ["taxonomy", "show", "ICCS0201", "--language", "es"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    assert "02011" in result.output and "Agresión" in result.output


def test_unknown_code_is_a_clear_error() -> None:
    result = runner.invoke(app, ["taxonomy", "show", "999999"])
    assert result.exit_code == 2
    assert "unknown ICCS code" in result.output and "999999" in result.output


def test_search() -> None:
    result = runner.invoke(app, ["taxonomy", "search", "shoplifting"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("050231")


def test_search_ranks_robbery_first_for_the_readme_example() -> None:
    result = runner.invoke(app, ["taxonomy", "search", "robo con violencia", "--language", "es"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("0401")
    refused = runner.invoke(app, ["taxonomy", "search", "robo", "--language", "fr"])
    assert refused.exit_code == 2
