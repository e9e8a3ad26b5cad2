"""Every limit has one owner (symbiosis.settings); the environment is read when a setting is used."""
import re
from pathlib import Path

from symbiosis import settings
from symbiosis.readers import max_file_mb
from symbiosis.store import default_db_path, resolve_busy_timeout

ROOT = Path(__file__).resolve().parent.parent


def test_the_environment_is_read_at_call_time(monkeypatch):
    monkeypatch.setenv("SYMBIOSIS_MAX_FILE_MB", "12.5")
    monkeypatch.setenv("SYMBIOSIS_BUSY_TIMEOUT_S", "3")
    monkeypatch.setenv("SYMBIOSIS_DB", "elsewhere.db")
    assert max_file_mb() == 12.5 and resolve_busy_timeout() == 3.0 and default_db_path() == Path("elsewhere.db")
    current = settings.settings_table().set_index("name")["current"]
    assert current["DEFAULT_MAX_FILE_MB"] == "12.5" and current["DEFAULT_DB"] == "elsewhere.db"
    monkeypatch.delenv("SYMBIOSIS_MAX_FILE_MB")
    assert max_file_mb() == settings.DEFAULT_MAX_FILE_MB


def test_each_limit_is_defined_once():
    names = [setting.name for setting in settings.SETTINGS] + ["MAX_BUSY_TIMEOUT_S", "MAX_MAP_NODES"]
    sources = {path: path.read_text(encoding="utf-8") for folder in ("symbiosis", "viz")
               for path in (ROOT / folder).glob("*.py") if path.name != "settings.py"}
    for name in names:
        defined = [str(path) for path, text in sources.items() if re.search(rf"^_?{name} = ", text, re.M)]
        assert not defined, (name, defined)
