"""Progress bars in a log are whole lines, never redrawn with carriage returns."""

import io

from timbre_jax import progress


def test_a_bar_in_a_log_writes_whole_lines(monkeypatch):
    log = io.StringIO()  # not a terminal
    monkeypatch.setattr(progress.sys, "stderr", log)
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)  # a line at every update
    for _ in progress.progress_bar(range(3), desc="build", unit="clip"):
        pass
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert lines[0].startswith("build:") and lines[-1].startswith("build: 100%")
    assert all(line.strip() for line in lines)
