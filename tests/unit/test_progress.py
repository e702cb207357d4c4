import io

from tickerwatch.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_on_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    out = Terminal()
    with Progress(4, "backfill", out) as bar:
        for _ in range(4):
            bar.advance()
    assert "backfill [" in out.getvalue() and "100% 4/4" in out.getvalue() and out.getvalue().endswith("\n")


def test_silent_in_logs_in_lambda_and_in_ci(monkeypatch):
    log = io.StringIO()  # not a terminal
    with Progress(4, "backfill", log) as bar:
        bar.advance(4)
    assert log.getvalue() == ""
    for variable in ("AWS_LAMBDA_FUNCTION_NAME", "CI"):
        monkeypatch.setenv(variable, "1")
        out = Terminal()
        with Progress(4, "backfill", out) as bar:
            bar.advance(4)
        assert out.getvalue() == ""
        monkeypatch.delenv(variable)
