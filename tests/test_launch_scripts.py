"""Every launch/ script answers a mistake on its command line with one `error:` line, exit 2."""

import importlib.util
from pathlib import Path

import pytest

LAUNCH = Path(__file__).resolve().parents[1] / "launch"
SCRIPTS = sorted(p for p in LAUNCH.glob("*.py"))


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"launch_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_a_misspelled_flag_is_one_line(path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(LAUNCH))  # as `python launch/X.py` runs it, beside the others
    with pytest.raises(SystemExit) as exit_:
        load(path).main(["--no-such-flag"])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert err.startswith("error: ") and err.endswith("--help)") and "\n" not in err
