"""The README's Python example runs and trains."""

import runpy
from pathlib import Path


def test_quickstart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    g = runpy.run_path(str(Path(__file__).parents[1] / "examples" / "quickstart.py"))
    assert len(g["history"].history["val_accuracy"]) == 5
    assert g["history"].history["val_accuracy"][-1] > 0.9
    assert "<iframe" in g["report"]._repr_html_()
