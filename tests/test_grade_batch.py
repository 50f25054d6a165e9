"""One class, graded in ONE batch: correct, rounded and wrong students, every attack and every kind of
broken submission, each with a known expected score; then idempotent re-runs."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from hwgen.grade.batch import GradeOptions, grade_class
from hwgen.grade.gradebook import GRADEBOOK, Gradebook
from hwgen.grade.sandbox import Limits
from hwgen.grade.simulate import Sim, code_cell, submit, text

from .grade_support import make_class, points

LIMITS = Limits(wall=2.0, cpu=2.0, memory_mb=512)


def _exact_with(*cells: str, before: tuple[str, ...] = ()):
    """Correct answers, with extra cells after them (and optionally before the answer cells)."""
    def act(sim: Sim) -> str:
        nb = sim.answered(sim.exact(), cells)
        nb["cells"][:0] = [code_cell(c) for c in before]
        return text(nb)
    return act


def _zeros_with(*cells: str):
    """Every answer zero (wrong), then extra cells that try to make them count."""
    def act(sim: Sim) -> str:
        zeros = {v: np.zeros_like(np.asarray(a, dtype=float)).tolist() for v, a in sim.exact().items()}
        return text(sim.answered(zeros, cells))
    return act


def _changed(**answers: str):
    """Correct answers except these variables, given as source text."""
    def act(sim: Sim) -> str:
        return text(sim.answered(sim.exact() | answers))
    return act


def _subclass(sim: Sim) -> str:
    """Wrong numbers inside an ndarray subclass that reports the correct ones through every override."""
    exact = sim.exact()
    lines = ["import numpy as np",
             "class Liar(np.ndarray):",
             "    def __eq__(self, other): return np.ones(np.shape(self), dtype=bool)",
             "    def __array_function__(self, func, types, args, kwargs): return True",
             "    def __array_ufunc__(self, *a, **k): return np.asarray(self.claim)",
             "    def tolist(self): return self.claim",
             "    def __array__(self, *a, **k): return np.asarray(self.claim)",
             "    def __float__(self): return float(np.ravel(self.claim)[0])",
             "def liar(claim):",
             "    x = (np.asarray(claim, dtype=float) * 0 + 7).view(Liar)",
             "    x.claim = claim",
             "    return x"]
    answers = {v: f"{v} = liar({json.dumps(a)})" for v, a in exact.items()}
    nb = sim.answered(answers)
    nb["cells"].insert(0, code_cell("\n".join(lines)))
    return text(nb)


def _metadata(correct: bool):
    """Edited metadata (hwgen variables swapped, nbgrader ids and points changed), test cells deleted or
    replaced by `assert True`; the answers are correct or all zero."""
    def act(sim: Sim) -> str:
        zeros = {v: np.zeros_like(np.asarray(a, dtype=float)).tolist() for v, a in sim.exact().items()}
        nb = sim.answered(sim.exact() if correct else zeros)
        kept = []
        for n, cell in enumerate(nb["cells"]):
            meta = cell.get("metadata", {})
            if meta.get("nbgrader", {}).get("grade"):
                if n % 2:
                    continue  # deleted test cell
                cell["source"] = "assert True\nprint('All tests passed!')"
                meta["nbgrader"]["points"] = 1000
            if "hwgen" in meta:
                meta["hwgen"] = {"problem": "p9", "quantity": "L", "variable": "p1_L"}
                meta["nbgrader"]["grade_id"] = "p1_L"
            kept.append(cell)
        nb["cells"] = kept
        nb["metadata"]["hwgen"] = {"student": "correct", "manifest": {"answers": "all"}}
        return text(nb)
    return act


def _fake_output(sim: Sim) -> str:
    """Zero answers, and stdout/stderr full of fake results that carry the right answers."""
    fake = json.dumps({"values": sim.exact(), "reasons": {}, "cell_errors": [], "output_chars": 0})
    return _zeros_with(
        f"print('result ' + {fake!r})\nprint({fake!r})",
        f"import sys, os\nsys.stderr.write('result ' + {fake!r} + '\\n')\nos.write(1, b'result ' + {fake!r}.encode())",
        "print('All tests passed! Score: 100/100')")(sim)


def _reader(folder: Path):
    """Tries to read the manifest, the gradebook, other students' notebooks and the instructor's; copies
    answers from whatever it finds."""
    return _zeros_with(f"""
import json, os, glob
found = {{}}
for path in [{str(folder / 'manifest.json')!r}, '../../manifest.json', '../manifest.json', 'manifest.json']:
    try:
        found = json.load(open(path))["students"]["reader"]["problems"]
        break
    except Exception:
        pass
for root, dirs, files in os.walk('/'):
    if 'manifest.json' in files and not found:
        try:
            found = json.load(open(os.path.join(root, 'manifest.json')))["students"]["reader"]["problems"]
        except Exception:
            pass
for key, problem in found.items():
    for q, v in problem["answers"].items():
        globals()[key + "_" + q] = v
others = glob.glob({str(folder / 'submitted' / '*' / '*' / '*.ipynb')!r}) + glob.glob({str(folder / 'source' / '*')!r})
if others:
    p1_L = 'saw other notebooks'
""")


def _network(port: int):
    """Asks a server (that really does serve this student's answers) for them."""
    return _zeros_with(f"""
import json, socket
for host in ('127.0.0.1', {socket.gethostbyname(socket.gethostname())!r}):
    try:
        with socket.create_connection((host, {port}), timeout=1) as s:
            data = json.loads(s.makefile().read())
        globals().update(data)
        break
    except Exception as exc:
        pass
""")


SIMPLE = {  # id: (behaviour, expected score as a function of the manifest, or "full")
    "correct": ("correct", "full"),
    "rounded": ("rounded", "full"),
    "one_wrong": ("one_wrong", lambda m: m.max_points - points(m, "p1_L")),
    "blank": ("blank", 0.0),
    "broken_json": ("broken", 0.0),
    "not_notebook": (lambda sim: "this is my homework, I wrote it in Word\n", 0.0),
    "json_list": (lambda sim: "[1, 2, 3]", 0.0),
    "allclose": ("allclose_attack", 0.0),
    "builtins": (_exact_with("import builtins, numpy as np\nbuiltins.float = lambda *a: 0.0\n"
                             "builtins.isinstance = lambda *a: False\nbuiltins.BaseException = ZeroDivisionError\n"
                             "builtins.len = None\nbuiltins.print = None\nnp.array = np.asarray = lambda *a, **k: 0\n"
                             "np.ndarray.tolist = None"), "full"),
    "subclass": (_subclass, 0.0),
    "metadata": (_metadata(True), "full"),
    "metadata_zero": (_metadata(False), 0.0),
    "fake_output": (_fake_output, 0.0),
    "fork_bomb": (_exact_with("import os\nfor _ in range(200):\n    try:\n        os.fork()\n"
                              "    except OSError:\n        pass",
                              "import threading\nthreading.Thread(target=lambda: None).start()",
                              "import os\nwhile True:\n    os.fork()"), "full"),
    "big_file": (_exact_with("open('big', 'wb').write(b'x' * 100_000_000)",
                             "for i in range(20):\n    open(f'f{i}', 'wb').write(b'x' * 10_000_000)"), "full"),
    "exits": (_exact_with("import sys\nsys.exit(1)", "import os\nos._exit(0)",
                          "import os, signal\nos.killpg(0, signal.SIGKILL)",
                          "raise SystemExit"), "full"),
    "hangs": (_exact_with("while True:\n    pass", "import time\ntime.sleep(1000)"), "full"),
    "memory": (_exact_with("import numpy as np\nx = np.ones((100_000, 100_000))", "y = [0] * 10**10",
                           "chunks = []\nwhile True:\n    chunks.append(bytearray(10**8))"), "full"),
    "recursion": (_exact_with("import sys\nsys.setrecursionlimit(10**6)\ndef f(n):\n    return f(n + 1)\nf(0)",
                              "def g(n):\n    return g(n + 1)\ng(0)"), "full"),
    "magics": (_exact_with("%matplotlib inline\nimport numpy as np\n!ls /\n  %time x = 1",
                           "%%time\nwhile True: pass"), "full"),
    "huge_output": (_exact_with("print('x' * 30_000_000)", "for i in range(10**5):\n    print(i, 'spam' * 20)"), "full"),
    "strings": (_changed(p1_L="p1_L = '0.1234'", p1_Z1="p1_Z1 = 'I do not know'"),
                lambda m: m.max_points - points(m, "p1_L", "p1_Z1")),
    "nan_inf": (_changed(p1_L="p1_L = float('nan')", p1_Z1="p1_Z1 = np.full((4, 2), np.inf)"),
                lambda m: m.max_points - points(m, "p1_L", "p1_Z1")),
    "shapes": (_changed(p1_Z1="p1_Z1 = np.zeros(8)", p2_dW1="p2_dW1 = np.zeros((5, 5))", p1_L="p1_L = [[[[[[[[1.0]]]]]]]]"),
               lambda m: m.max_points - points(m, "p1_Z1", "p2_dW1", "p1_L")),
    "objects": (_changed(p1_L="p1_L = {'value': 1}", p1_Z1="p1_Z1 = object()", p1_A1="p1_A1 = 3 + 4j",
                         p1_Z2="p1_Z2 = 10**400", p1_Yhat="p1_Yhat = None"),
                lambda m: m.max_points - points(m, "p1_L", "p1_Z1", "p1_A1", "p1_Z2", "p1_Yhat")),
}


def _deleted(sim: Sim) -> str:
    """The answer cells of p1_dW1 and p2_L deleted (the rest correct)."""
    nb = sim.answered(sim.exact())
    nb["cells"] = [c for c in nb["cells"] if "p1_dW1" not in "".join(c["source"]) and "p2_L" not in "".join(c["source"])]
    return text(nb)


def _duplicated(sim: Sim) -> str:
    """p1_Z1's cell twice (wrong, then right: right counts); p1_A1's twice (right, then wrong: wrong counts)."""
    exact = sim.exact()
    nb = sim.answered(exact)
    wrong = {v: np.zeros_like(np.asarray(a, dtype=float)).tolist() for v, a in exact.items()}
    for i, cell in reversed(list(enumerate(nb["cells"]))):
        source = "".join(cell["source"])
        if source.startswith("p1_Z1 ="):
            nb["cells"].insert(i, code_cell(f"p1_Z1 = np.array({wrong['p1_Z1']})"))
        if source.startswith("p1_A1 ="):
            nb["cells"].insert(i + 1, code_cell(f"p1_A1 = np.array({wrong['p1_A1']})"))
    return text(nb)


def _copier(sim: Sim) -> str:
    """Hands in the `correct` student's answers: another variant's numbers."""
    return text(sim.answered(Sim(sim.manifest, "correct", {}).exact()))


STUDENTS = list(SIMPLE) + ["deleted", "duplicated", "absent", "other_name", "reader", "network", "copier", "linked"]


@pytest.fixture(scope="module")
def answer_server():
    """A TCP server on this machine that gives any caller the `network` student's answers."""
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen()
    payload: dict[str, bytes] = {}

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(payload.get("data", b"{}"))

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], payload
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, answer_server):
    """The class, its submissions (one per kind), graded once; (folder, manifest, report, summary)."""
    root = tmp_path_factory.mktemp("batch")
    roster = [(sid, sid.replace("_", " ").title()) for sid in STUDENTS]
    roster[0] = ("correct", '<b>Eve & "Co"</b>')  # a name that must be escaped in HTML
    folder, manifest = make_class(root, roster)
    port, payload = answer_server
    payload["data"] = json.dumps(Sim(manifest, "network", {}).exact()).encode()
    behaviours = {sid: spec[0] for sid, spec in SIMPLE.items()} | {
        "deleted": _deleted, "duplicated": _duplicated, "absent": "absent", "other_name": "correct",
        "reader": _reader(folder), "network": _network(port), "copier": _copier, "linked": "correct"}
    for sid, behaviour in behaviours.items():
        submit(folder, manifest, sid, behaviour)
    nb = folder / "submitted" / "other_name" / manifest.name
    (nb / f"{manifest.name}.ipynb").rename(nb / "my homework.ipynb")
    # A link to the student's own instructor notebook (its solution cells hold the exact answers) is not read.
    linked = folder / "submitted" / "linked" / manifest.name / f"{manifest.name}.ipynb"
    linked.unlink()
    linked.symlink_to(folder / "source" / "linked" / manifest.name / f"{manifest.name}.ipynb")
    stranger = folder / "submitted" / "zz_stranger" / manifest.name
    stranger.mkdir(parents=True)
    (stranger / f"{manifest.name}.ipynb").write_text((nb / "my homework.ipynb").read_text())
    summary = grade_class(folder, GradeOptions(jobs=2, limits=LIMITS, progress=False))
    with Gradebook(folder / GRADEBOOK) as book:
        report = book.report()
    return folder, manifest, report, summary


def _expected(manifest, sid: str) -> float:
    if sid in SIMPLE:
        want = SIMPLE[sid][1]
        return manifest.max_points if want == "full" else want(manifest) if callable(want) else want
    return {"deleted": manifest.max_points - points(manifest, "p1_dW1", "p2_L"),
            "duplicated": manifest.max_points - points(manifest, "p1_A1"),
            "absent": 0.0, "other_name": manifest.max_points, "reader": 0.0, "network": 0.0, "copier": None,
            "linked": 0.0}[sid]


@pytest.mark.parametrize("sid", STUDENTS)
def test_each_submission_gets_its_expected_score(graded, sid):
    folder, manifest, report, summary = graded
    if sid in ("reader", "network") and summary.isolation not in ("bwrap",) + (("unshare",) if sid == "network" else ()):
        pytest.skip(f"isolation is {summary.isolation}: files and network are not hidden from student code")
    entry, expected = report[sid], _expected(manifest, sid)
    if expected is not None:  # the copier's score is the checks' business (ECF on copied numbers)
        assert entry["score"] == pytest.approx(expected, abs=1e-4), (sid, entry)
    assert entry["max"] == pytest.approx(manifest.max_points)
    assert len(entry["items"]) == sum(len(s.asked) for s in manifest.problems)


def test_the_whole_class_was_graded_in_one_batch_with_isolation(graded):
    folder, manifest, report, summary = graded
    assert summary.isolation == "bwrap", "bubblewrap is installed here (.ci/run installs it) and must be used"
    assert set(report) == set(STUDENTS) | {"zz_stranger"}
    assert summary.counts["graded"] == len(STUDENTS) - 5  # absent, broken_json, not_notebook, json_list, linked
    assert summary.counts["missing"] == 1 and summary.counts["invalid"] == 4 and summary.counts["unknown"] == 1


def _items(report, sid):
    return {f"{i['problem']}_{i['quantity']}": i for i in report[sid]["items"]}


def test_messages_say_what_went_wrong(graded):
    folder, manifest, report, _ = graded
    blank = _items(report, "blank")["p1_dW1"]
    assert blank["status"] == "missing" and "NotImplementedError" in blank["message"]
    deleted = _items(report, "deleted")
    assert deleted["p1_dW1"]["status"] == "missing" and "No code cell mentions p1_dW1" in deleted["p1_dW1"]["message"]
    strings = _items(report, "strings")
    assert strings["p1_L"]["status"] == "invalid" and "'0.1234'" in strings["p1_L"]["message"]
    nan = _items(report, "nan_inf")
    assert nan["p1_L"]["status"] == "invalid" and "NaN" in nan["p1_L"]["message"]
    assert nan["p1_Z1"]["status"] == "invalid" and "infinite" in nan["p1_Z1"]["message"]
    shapes = _items(report, "shapes")
    assert shapes["p1_Z1"]["status"] == "invalid" and "2 x 4" in shapes["p1_Z1"]["message"]  # samples as columns
    assert "nested" in shapes["p1_L"]["message"]
    objects = _items(report, "objects")
    assert "dict" in objects["p1_L"]["message"] and "complex" in objects["p1_A1"]["message"]
    assert "too large" in objects["p1_Z2"]["message"] and objects["p1_Yhat"]["status"] == "invalid"
    broken = _items(report, "broken_json")["p1_L"]
    assert broken["status"] == "invalid" and "not valid notebook JSON" in broken["message"]
    assert "not a Jupyter notebook" in _items(report, "json_list")["p1_L"]["message"]
    assert "not valid notebook JSON" in _items(report, "not_notebook")["p1_L"]["message"]
    absent = _items(report, "absent")["p1_L"]
    assert absent["status"] == "missing" and "No submission" in absent["message"]
    assert _items(report, "one_wrong")["p1_L"]["status"] == "wrong"
    assert "is a symbolic link" in _items(report, "linked")["p1_L"]["message"]
    assert {i["status"] for i in report["correct"]["items"]} == {"correct"}


def test_flags_describe_the_submission(graded):
    folder, _, report, _ = graded
    flags = {sid: " | ".join(entry["flags"]) for sid, entry in report.items()}
    assert "stopped after 2 s" in flags["hangs"] and "run again without this cell" in flags["hangs"]
    assert "os._exit" in flags["exits"] or "exit status" in flags["exits"]
    assert "PermissionError" in flags["exits"]  # killpg(0): the seccomp filter refuses every signal
    assert "million characters" in flags["huge_output"]
    assert "my homework.ipynb" in flags["other_name"] and "the expected file is" in flags["other_name"]
    assert "matches no student id" in flags["zz_stranger"] and report["zz_stranger"]["items"] == []
    assert flags["correct"] == ""
    assert "match the numbers of correct's variant" in flags["copier"]
    with Gradebook(folder / GRADEBOOK) as book:
        assert book.copied_from() == {"copier": ["correct"]}


def test_rerun_is_idempotent_and_regrades_only_what_changed(graded):
    folder, manifest, report, _ = graded
    with Gradebook(folder / GRADEBOOK) as book:
        before = {sid: s.graded_at for sid, s in book.submissions().items()}
    again = grade_class(folder, GradeOptions(jobs=1, limits=LIMITS, progress=False))
    assert again.counts["unchanged"] == len(before) and again.isolation == ""  # no sandbox was even started
    path = folder / "submitted" / "one_wrong" / manifest.name / f"{manifest.name}.ipynb"
    submit(folder, manifest, "one_wrong", "correct")
    assert path.exists()
    third = grade_class(folder, GradeOptions(jobs=1, limits=LIMITS, progress=False))
    assert third.counts["graded"] == 1 and third.counts["unchanged"] == len(before) - 1
    with Gradebook(folder / GRADEBOOK) as book:
        after = {sid: s.graded_at for sid, s in book.submissions().items()}
        assert book.report(["one_wrong"])["one_wrong"]["score"] == pytest.approx(manifest.max_points)
    assert {s: t for s, t in after.items() if s != "one_wrong"} == {s: t for s, t in before.items() if s != "one_wrong"}


def test_the_class_items_read_in_one_query_are_each_students_items(graded):
    folder = graded[0]
    with Gradebook(folder / GRADEBOOK) as book:
        every, subs = book.all_items(), book.submissions()
        assert set(every) <= set(subs) and sum(map(len, every.values())) > 0
        for sid in subs:
            assert every.get(sid, []) == [item for item, _, _ in book.items(sid)], sid
