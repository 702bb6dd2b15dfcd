"""Mutation testing for gradient code: do your tests notice a wrong backward?

    python -m microgradnn.testing.mutate MODULE_OR_FILE [options] -- TEST_COMMAND...

takes the ``backward`` methods of the Function classes in a file (your own operations, or
microgradnn's: ``microgradnn.ops.elementwise``), makes small faulty variants of each with
``ast`` -- a sign flipped, a term dropped, a factor scaled, a transpose or an axis
changed, two returned gradients swapped, a comparison moved onto its kink -- and runs
``TEST_COMMAND`` against every variant. A variant the tests fail on is *killed*; one
they pass is a *survivor*: a fault the tests cannot see. Variants whose code is the
original's (swapping two equal gradients) are counted as *equivalent* and not run.

The tree you run from is never modified: each worker runs in a temporary copy of the
current directory (without .git, virtual environments, caches and build output), with
the mutated file written there and ``PYTHONPATH`` pointing at the copy; the copies are
deleted at the end, also on Ctrl-C. In ``TEST_COMMAND``, ``{op}`` is replaced by the
mutated operation's name (its ``op_name``) and ``{class}`` by its class name, so each
variant can run only the tests of its operation:

    python -m microgradnn.testing.mutate microgradnn/ops/elementwise.py --jobs 2 -- \\
        python -m pytest -x -q -p no:cacheprovider tests/test_ops.py -k {op}

Options: ``--jobs N`` variants at once; ``--only NAME`` (repeatable) only these classes;
``--list`` print the variants without running; ``--report FILE`` write the summary as
Markdown; ``--timeout SECONDS`` per variant (default: 10 times the unmutated run, at least
60 s; a variant that hangs counts as killed).
"""
from __future__ import annotations

import argparse
import ast
import copy
import importlib.util
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", ".hypothesis",
                                "_build", "out", "*.egg-info", ".pytest_cache", ".mypy_cache")


@dataclass
class Mutant:
    ident: int
    cls: str
    op: str
    line: int
    kind: str
    description: str
    source: str
    status: str = "pending"  # killed / survived / equivalent / timeout
    seconds: float = 0.0


# ---------------------------------------------------------------- finding the backwards
def _op_name(node: ast.ClassDef) -> str:
    for item in node.body:
        if isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "op_name" for t in item.targets) \
                and isinstance(item.value, ast.Constant):
            return item.value.value
    return node.name.lower()


def _backwards(tree: ast.Module):
    """(class name, op name, backward FunctionDef) for every class with a backward. A
    private base class (``_Extreme``) stands for its subclasses in the file: its op name
    is theirs, joined by " or " (a pytest -k expression)."""
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for node in classes:
        op = _op_name(node)
        if node.name.startswith("_"):
            subs = [_op_name(c) for c in classes
                    if any(isinstance(b, ast.Name) and b.id == node.name for b in c.bases)]
            op = " or ".join(subs) or op
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "backward":
                yield node.name, op, item


def _parents(root: ast.AST) -> dict:
    return {id(child): parent for parent in ast.walk(root) for child in ast.iter_child_nodes(parent)}


def _replace(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            return
        if isinstance(value, list):
            for i, v in enumerate(value):
                if v is old:
                    value[i] = new
                    return
    raise AssertionError("node not found in its parent")  # pragma: no cover


_FLIP = {ast.Add: ast.Sub, ast.Sub: ast.Add}
_KINK = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}


def _variants(node: ast.AST, parent: ast.AST):
    """(kind, description, function making the mutated node from a copy of ``node``)."""
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        if op in _FLIP:
            yield "sign", f"{op.__name__.lower()} -> {_FLIP[op].__name__.lower()}", \
                lambda n: ast.BinOp(n.left, _FLIP[op](), n.right)
            yield "term", "right term dropped", lambda n: n.left
            if op is ast.Add:
                yield "term", "left term dropped", lambda n: n.right
        if op in (ast.Mult, ast.Div, ast.MatMult) and not (
                isinstance(parent, ast.BinOp) and type(parent.op) in (ast.Mult, ast.Div, ast.MatMult)):
            yield "scale", "product scaled by 2", \
                lambda n: ast.BinOp(n, ast.Mult(), ast.Constant(2.0))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign", "negation dropped", lambda n: n.operand
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value != 0 \
            and isinstance(parent, ast.BinOp):
        yield "scale", f"constant {node.value!r} doubled", lambda n: ast.Constant(n.value * 2)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _KINK:
        new = _KINK[type(node.ops[0])]
        yield "kink", f"{type(node.ops[0]).__name__} -> {new.__name__}", \
            lambda n: ast.Compare(n.left, [new()], n.comparators)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in ("swapaxes", "transpose"):
        yield "axis", f".{node.func.attr}(...) dropped", lambda n: n.func.value
    elif isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield "axis", ".T dropped", lambda n: n.value
    elif isinstance(node, ast.keyword) and node.arg in ("axis", "dim") \
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
        yield "axis", f"axis={node.value.value} -> {node.value.value + 1}", \
            lambda n: ast.keyword(n.arg, ast.Constant(n.value.value + 1))
    elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) \
            and len(node.value.elts) >= 2:
        for i in range(len(node.value.elts) - 1):
            def swap(n, i=i):
                elts = list(n.value.elts)
                elts[i], elts[i + 1] = elts[i + 1], elts[i]
                return ast.Return(ast.Tuple(elts, ast.Load()))
            yield "swap", f"gradients {i} and {i + 1} swapped", swap


def mutants(source: str) -> list[Mutant]:
    """Every single-fault variant of the backward methods in ``source``."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    found, ident = [], 0
    for b, (cls, op, fdef) in enumerate(_backwards(tree)):
        parents = _parents(fdef)
        for k, node in enumerate(ast.walk(fdef)):
            for v, (kind, desc, _) in enumerate(_variants(node, parents.get(id(node)))):
                fresh = ast.parse(source)
                target_fdef = list(_backwards(fresh))[b][2]
                target = list(ast.walk(target_fdef))[k]
                tparents = _parents(target_fdef)
                make = list(_variants(target, tparents.get(id(target))))[v][2]
                _replace(tparents[id(target)], target, make(copy.deepcopy(target)))
                ast.fix_missing_locations(fresh)
                text = ast.unparse(fresh)
                ident += 1
                status = "equivalent" if text == original else "pending"
                found.append(Mutant(ident, cls, op, getattr(node, "lineno", fdef.lineno), kind,
                                    desc, text, status))
    return found


# ---------------------------------------------------------------- running
def _resolve(target: str) -> Path:
    path = Path(target)
    if path.suffix == ".py" and path.exists():
        return path.resolve()
    spec = importlib.util.find_spec(target)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise SystemExit(f"mutate: {target!r} is neither a .py file nor an importable module")
    return Path(spec.origin).resolve()


@dataclass
class _Worker:
    root: Path          # the copy of the tree
    rel: Path           # the target file, relative to the tree
    original: bytes
    clock: int = field(default=0)

    def write(self, text: bytes) -> None:
        path = self.root / self.rel
        path.write_bytes(text)
        # a fresh, distinct mtime per write: cached bytecode can never pass for the new code
        self.clock += 1
        stamp = 1_000_000_000 + self.clock
        os.utime(path, (stamp, stamp))


def _env(tree: Path, copy_root: Path, cache: Path) -> dict:
    env = dict(os.environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    parts = [str(copy_root) if Path(p).resolve() == tree else p for p in parts]
    env["PYTHONPATH"] = os.pathsep.join([str(copy_root)] + [p for p in parts if p != str(copy_root)])
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _command(cmd: list[str], m: Mutant | None) -> list[str]:
    if m is None:
        return list(cmd)
    return [c.replace("{op}", m.op).replace("{class}", m.cls) for c in cmd]


def _run(cmd, cwd, env, timeout, procs) -> tuple[str, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    procs.add(proc)
    try:
        code = proc.wait(timeout=timeout)
        # pytest's 5: no test was selected, so nothing was tested (not a kill)
        status = "survived" if code == 0 else "untested" if code == 5 else "killed"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        status = "timeout"
    finally:
        procs.discard(proc)
    return status, time.perf_counter() - start


def run(target: str, cmd: list[str], jobs: int = 1, only: list[str] | None = None,
        timeout: float | None = None, report: Path | None = None, list_only: bool = False,
        out=sys.stdout) -> list[Mutant]:
    path = _resolve(target)
    tree = Path.cwd().resolve()
    try:
        rel = path.relative_to(tree)
    except ValueError:
        raise SystemExit(f"mutate: {path} is not inside the current directory {tree}; run from "
                         "the root of the tree the tests use") from None
    original = path.read_bytes()
    found = mutants(original.decode("utf-8"))
    if only:
        found = [m for m in found if m.cls in only]
    if not found:
        raise SystemExit(f"mutate: no backward methods (of classes {only or 'any'}) in {path}")
    if list_only:
        for m in found:
            print(f"#{m.ident:<4} {m.cls}.backward line {m.line}: {m.description} ({m.kind})"
                  + (" [equivalent]" if m.status == "equivalent" else ""), file=out)
        return found
    if not cmd:
        raise SystemExit("mutate: give the test command after --")
    procs: set = set()
    start = time.perf_counter()
    if threading.current_thread() is threading.main_thread():
        # kill (TERM) cleans up like Ctrl-C: the temporary trees go, children are stopped
        signal.signal(signal.SIGTERM, _interrupt)
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background
            signal.signal(signal.SIGINT, _interrupt)
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        workers = []
        for k in range(max(1, jobs)):
            root = Path(tmp) / f"tree{k}"
            shutil.copytree(tree, root, ignore=IGNORE, symlinks=True)
            workers.append(_Worker(root, rel, original))
        w0 = workers[0]
        env0 = _env(tree, w0.root, Path(tmp) / "cache0")
        w0.write(original)
        first = next((m for m in found if m.status == "pending"), None)
        status, base = _run(_command(cmd, first), w0.root, env0, None, procs)
        if status == "untested":
            raise SystemExit("mutate: the test command selected no test (pytest's exit code "
                             f"5) on the unmutated code: {' '.join(_command(cmd, first))}")
        if status != "survived":
            raise SystemExit("mutate: the test command fails on the unmutated code; fix that "
                             f"first: {' '.join(_command(cmd, first))}")
        limit = timeout or max(60.0, 10 * base)
        print(f"mutate: {path.name}: {len(found)} variants, unmutated run {base:.1f} s", file=out)
        todo: queue.Queue = queue.Queue()
        for m in found:
            if m.status == "pending":
                todo.put(m)
        lock = threading.Lock()
        stopping = threading.Event()

        def work(w: _Worker, k: int):
            env = _env(tree, w.root, Path(tmp) / f"cache{k}")
            while True:
                try:
                    m = todo.get_nowait()
                except queue.Empty:
                    return
                w.write(m.source.encode("utf-8"))
                try:
                    m.status, m.seconds = _run(_command(cmd, m), w.root, env, limit, procs)
                finally:
                    w.write(w.original)
                if stopping.is_set():  # its process was stopped by us: not a kill
                    m.status = "pending"
                    return
                with lock:
                    print(f"  #{m.ident:<4} {m.status:9} {m.cls}.backward line {m.line}: "
                          f"{m.description}", file=out, flush=True)

        threads = [threading.Thread(target=work, args=(w, k), daemon=True)
                   for k, w in enumerate(workers)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            stopping.set()
            while not todo.empty():
                todo.get_nowait()
            for p in list(procs):
                os.killpg(p.pid, signal.SIGKILL)
            print("mutate: interrupted; the temporary trees are removed, yours was never "
                  "touched", file=out)
            raise
    elapsed = time.perf_counter() - start
    text = summary(found, path.name, elapsed, " ".join(cmd))
    print(text, file=out)
    if report is not None:
        report.write_text(text, encoding="utf-8")
    return found


def summary(found: list[Mutant], name: str, seconds: float, command: str) -> str:
    """A Markdown table: killed / survived / equivalent per operation, and the survivors."""
    ops: dict[str, dict[str, int]] = {}
    for m in found:
        row = ops.setdefault(m.cls, {"killed": 0, "survived": 0, "equivalent": 0, "untested": 0})
        if m.status != "pending":
            row["killed" if m.status in ("killed", "timeout") else m.status] += 1
    killed = sum(r["killed"] for r in ops.values())
    survived = sum(r["survived"] for r in ops.values())
    equivalent = sum(r["equivalent"] for r in ops.values())
    untested = sum(r["untested"] for r in ops.values())
    rate = killed / (killed + survived) if killed + survived else 1.0
    lines = [f"### {name}", "",
             f"{killed} of {killed + survived} non-equivalent variants killed ({rate:.1%}), "
             f"{equivalent} equivalent" + (f", {untested} UNTESTED (the command selected no "
                                           "test)" if untested else "")
             + f"; {seconds:.0f} s with `{command}`", "",
             "| operation | killed | survived | equivalent |", "|---|---:|---:|---:|"]
    for cls, r in ops.items():
        lines.append(f"| {cls} | {r['killed']} | {r['survived']} | {r['equivalent']} |")
    survivors = [m for m in found if m.status == "survived"]
    if survivors:
        lines += ["", "Survivors:", ""]
        lines += [f"- `{m.cls}.backward` line {m.line}: {m.description}" for m in survivors]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = []
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="python -m microgradnn.testing.mutate",
                                 description="Mutation testing of backward methods.")
    ap.add_argument("target", help="a .py file or a module name (microgradnn.ops.linalg)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only", action="append", help="only this class (repeatable)")
    ap.add_argument("--timeout", type=float, default=None)
    ap.add_argument("--report", type=Path, default=None)
    ap.add_argument("--list", action="store_true", help="list the variants, run nothing")
    args = ap.parse_args(argv)
    found = run(args.target, cmd, args.jobs, args.only, args.timeout, args.report, args.list)
    return 1 if any(m.status in ("survived", "untested") for m in found) else 0


if __name__ == "__main__":
    sys.exit(main())
