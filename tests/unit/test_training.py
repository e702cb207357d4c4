"""Training with PyTorch: fixed seeds give the same weights; numpy reproduces torch's forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch  # noqa: F401 - the 'train' extra; make test installs it

from tickerwatch.market_data import CsvMarketData
from tickerwatch.model import LstmModel
from tickerwatch.train import TrainConfig, train

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CONFIG = TrainConfig(window=20, units=(8, 4), dense=4, epochs=2, batch_size=128)


@pytest.mark.slow
def test_same_data_gives_same_weights_and_numpy_matches_torch(tmp_path):
    provider = CsvMarketData(DATA)
    first = train(provider, ["GOOG"], CONFIG, tmp_path / "a", tmp_path / "a" / "golden.npz", progress=lambda _: None)
    second = train(provider, ["GOOG"], CONFIG, tmp_path / "b", progress=lambda _: None)
    assert first == second
    a, b = LstmModel.load(tmp_path / "a" / "lstm.npz"), LstmModel.load(tmp_path / "b" / "lstm.npz")
    assert a.version == b.version
    for la, lb in zip(a.lstm, b.lstm, strict=True):
        np.testing.assert_array_equal(la.kernel, lb.kernel)
    golden = np.load(tmp_path / "a" / "golden.npz")
    np.testing.assert_allclose(a.predict(golden["inputs"]), golden["expected"], atol=1e-5, rtol=0)
    report = first["tickers"]["GOOG"]
    assert set(report) == {"held_out", "model", "naive_last_value", "bands"}
    assert [b["step"] for b in report["bands"]] == [1, 5, 10]
    assert report["held_out"]["start"] > a.meta["trained_on"]["GOOG"]["train_end"]


def test_train_writes_a_new_run_and_installs_only_when_asked(tmp_path, monkeypatch):
    import hashlib

    import tickerwatch.train as training
    from tickerwatch.cli import main

    # The command turns Powertools' metrics off for its process; undone after the test, or every
    # later test in this process would emit none (a rate-limit test failed when it ran after this).
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    def fake_train(provider, tickers, config, out_dir, golden_path, progress=print):
        out_dir.mkdir(parents=True, exist_ok=True)  # the direction model was written there first
        for name in ("lstm.npz", "lstm_report.json", "lstm_golden.npz"):
            (out_dir / name).write_text(name)
        return {"tickers": {}}

    def fake_direction(series, out_dir, progress=print):
        assert set(series) == {"GOOG"}
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("direction.npz", "direction_report.json"):
            (out_dir / name).write_text(name)
        return {"held_out": {}, "leakage_study": {}}

    import tickerwatch.direction_training as direction_training

    shipped = tmp_path / "weights"
    shipped.mkdir()
    (shipped / "lstm.npz").write_text("shipped")
    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(direction_training, "train_and_report", fake_direction)
    monkeypatch.setattr(training, "load_series", lambda provider, tickers: {t: ([], None) for t in tickers})
    monkeypatch.setattr(training, "WEIGHTS_DIR", shipped)
    monkeypatch.chdir(tmp_path)

    def digest() -> str:
        return hashlib.sha256((shipped / "lstm.npz").read_bytes()).hexdigest()

    before = digest()
    assert main(["train", "--tickers", "GOOG"]) == 0
    runs = list((tmp_path / "training-runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "lstm.npz").exists()
    assert digest() == before  # the working tree is left as it was
    assert main(["train", "--tickers", "GOOG", "--out", "run2", "--install", "--golden", "golden.npz"]) == 0
    assert (shipped / "lstm.npz").read_text() == "lstm.npz"
    assert (shipped / "direction.npz").read_text() == "direction.npz"  # both models are trained and installed
    assert (tmp_path / "golden.npz").read_text() == "lstm_golden.npz"


def test_the_readmes_served_band_table_is_the_shipped_report():
    """`tickerwatch report --install --readme README.md` writes both; neither is edited by hand."""
    import json
    from pathlib import Path

    from tickerwatch.train import TABLE_END, TABLE_START, WEIGHTS_DIR, served_band_table

    report = json.loads((WEIGHTS_DIR / "lstm_report.json").read_text())
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index(TABLE_START) + len(TABLE_START) : readme.index(TABLE_END)].strip()
    assert table == served_band_table(report)
    assert len(table.splitlines()) == 2 + 2 * 3  # header, rule, TSLA and GOOG at 1, 5 and 10 days
