"""``examples/tour.ipynb`` runs, top to bottom, on a real Jupyter kernel of this interpreter (nbclient +
ipykernel), with no error, no warning and nothing on stderr in any output; the backtest and the sweep
show HTML tables and the figures show as PNG images."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "examples" / "tour.ipynb"
KERNEL = "liqcore-tour-test"


def _kernel(tmp_path: Path):
    """A kernel manager for a kernelspec of this interpreter in a directory of this test only (the user's
    Jupyter and IPython configuration and kernels are never read); the kernel inherits this process's
    environment (PYTHONPATH, the session's LIQCORE_CACHE_DIR)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = tmp_path / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    env = {"IPYTHONDIR": str(tmp_path / "ipython"), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "MPLCONFIGDIR": str(tmp_path / "mpl")}
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "liqcore tour (test)", "language": "python", "env": env}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")], ensure_native_kernel=False)
    assert ksm.find_kernel_specs() == {KERNEL: str(spec_dir)}
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)


def _problems(nb) -> list[str]:
    bad = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            text = out.get("text", "") if kind == "stream" else "".join(
                str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
            if kind == "error":
                bad.append(f"cell {i}: error {out.get('ename')}: {out.get('evalue')}")
            elif kind == "stream" and out.get("name") == "stderr":
                bad.append(f"cell {i}: stderr: {text[:300]!r}")
            elif "warning" in text.lower():
                bad.append(f"cell {i}: a warning in its output: {text[:300]!r}")
    return bad


def test_the_tour_runs_clean_on_a_kernel(tmp_path):
    nb = nbformat.read(TOUR, as_version=4)
    assert os.environ.get("LIQCORE_CACHE_DIR")  # the session's cache: the kernel writes there, not the user's
    km = _kernel(tmp_path)
    work = tmp_path / "cwd"
    work.mkdir()
    client = nbclient.NotebookClient(nb, km=km, timeout=240, allow_errors=True,
                                     resources={"metadata": {"path": str(work)}})
    try:
        client.execute()
    finally:  # (a kernel manager given to nbclient is the caller's: its kernel outlived the test by the session)
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    assert not km.is_alive()
    assert _problems(nb) == []

    def outputs(source_start: str) -> list:
        cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]
        assert len(cells) == 1, source_start
        return cells[0].outputs

    def html(source_start: str) -> str:
        return "".join(o.get("data", {}).get("text/html", "") for o in outputs(source_start))

    assert "<b>BacktestResult</b>" in html("res = backtest(m") and "<table>" in html("res = backtest(m")
    assert "<b>SweepResult</b>" in html("grid = ") and "best 5 by total return" in html("grid = ")
    assert "<b>StudyResult event</b>" in html("from liqcore.research.studies")
    assert "<b>BacktestResult</b>" in html("from liqcore.data import")
    for start in ("res.plot()", 'res.plot(symbol="ETHUSDT")', "swept.plot(", "study.plot()", "sample_res.plot("):
        data = [o.get("data", {}) for o in outputs(start)]
        assert any("image/png" in d for d in data), start
        assert any("Figure" in d.get("text/plain", "") for d in data), start  # a matplotlib Figure
    # the sweep's progress is one line of text, left at its final state (no widget, no warning)
    lines = [o.data["text/plain"] for o in outputs("grid = ") if "text/plain" in o.get("data", {})]
    assert any(t.startswith("'sweep: 4/4 done in") or t.startswith("sweep: 4/4 done in") for t in lines), lines
