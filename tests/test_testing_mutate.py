"""The mutation tester: variants of backward methods, run against a test command, in a
copy of the tree (the original is never touched)."""
import io
import os
import sys
import textwrap
from pathlib import Path

import pytest

from microgradnn.testing import mutate

ROOT = Path(__file__).resolve().parents[1]

OPS = textwrap.dedent('''
    from microgradnn.autograd import Function


    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x


    class Half(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 0.5

        @staticmethod
        def backward(ctx, grad):
            return grad * 0.5


    class Both(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad
''')

TESTS = textwrap.dedent('''
    import microgradnn as mg
    from microgradnn.testing import gradcheck
    from myops import Cube, Half


    def test_cube():
        x = mg.tensor([0.5, -1.5], dtype=mg.float64, requires_grad=True)
        assert gradcheck(Cube.apply, [x])


    def test_half_runs():  # a weak test: it never looks at the gradient's value
        x = mg.tensor([1.0], requires_grad=True)
        Half.apply(x).sum().backward()
''')


def test_variants_of_a_backward():
    found = mutate.mutants(OPS)
    kinds = {(m.cls, m.kind) for m in found}
    assert ("Cube", "scale") in kinds and ("Half", "scale") in kinds
    both = [m for m in found if m.cls == "Both"]
    assert [m.status for m in both] == ["equivalent"]  # swapping grad and grad changes nothing
    assert all("def backward" in m.source for m in found)


def test_weak_tests_leave_survivors_and_the_tree_is_untouched(tmp_path, monkeypatch):
    (tmp_path / "myops.py").write_text(OPS)
    (tmp_path / "test_myops.py").write_text(TESTS)
    before = (tmp_path / "myops.py").stat().st_mtime_ns, (tmp_path / "myops.py").read_bytes()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(tmp_path)]))
    out = io.StringIO()
    report = tmp_path / "report.md"
    # plain Python rather than pytest: a variant then costs one interpreter start
    command = [sys.executable, "-c", "import test_myops as t; t.test_cube(); t.test_half_runs()"]
    found = mutate.run("myops.py", command, jobs=2, report=report, out=out)
    status = {(m.cls, m.description): m.status for m in found}
    assert all(s == "killed" for (cls, _), s in status.items() if cls == "Cube")
    assert status[("Half", "constant 0.5 doubled")] == "survived"
    assert status[("Both", "gradients 0 and 1 swapped")] == "equivalent"
    text = report.read_text()
    assert "| Cube |" in text and "Survivors:" in text and "Half.backward" in text
    assert ((tmp_path / "myops.py").stat().st_mtime_ns, (tmp_path / "myops.py").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == [
        "myops.py", "report.md", "test_myops.py"]


def test_a_command_that_fails_unmutated_is_refused(tmp_path, monkeypatch):
    (tmp_path / "myops.py").write_text(OPS)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="fails on the unmutated code"):
        mutate.run("myops.py", [sys.executable, "-c", "raise SystemExit(1)"], out=io.StringIO())


def test_a_command_that_selects_no_test_is_not_a_kill(tmp_path, monkeypatch):
    (tmp_path / "myops.py").write_text(OPS)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="selected no test"):  # pytest's exit code 5
        mutate.run("myops.py", [sys.executable, "-c", "raise SystemExit(5)"], only=["Half"],
                   out=io.StringIO())


def test_list_mode_runs_nothing(tmp_path, monkeypatch, capsys):
    (tmp_path / "myops.py").write_text(OPS)
    monkeypatch.chdir(tmp_path)
    found = mutate.run("myops.py", [], list_only=True, out=sys.stdout)
    assert len(found) >= 3
    assert "Cube.backward" in capsys.readouterr().out
