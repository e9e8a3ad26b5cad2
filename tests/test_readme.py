"""The README's Python section runs as written on the demo store (its one line about a user's own file aside)."""
from pathlib import Path

from click.testing import CliRunner

from cli import cli

README = Path(__file__).parent.parent / "README.md"
#: the line that imports a file of the user's own, which the demo does not have
_USERS_OWN_FILE = 'report = symbiosis.import_files(db, ["flows_2024.csv"], dry_run=True)\nprint(report.to_frame())'


def test_the_readme_python_section_runs_on_the_demo(tmp_path, monkeypatch):
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "symbiosis-demo"), "--quiet", "--format", "json"])
    assert result.exit_code == 0, result.output
    text = README.read_text(encoding="utf-8")
    start = text.index("## Python\n\n```python\n") + len("## Python\n\n```python\n")
    code = text[start:text.index("```", start)]
    assert _USERS_OWN_FILE in code
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace(_USERS_OWN_FILE, ""), "README.md", "exec"), {})  # noqa: S102 - the README's own code
    assert (tmp_path / "kalundborg.graphml").stat().st_size > 0 and (tmp_path / "zcp-map.html").stat().st_size > 0
