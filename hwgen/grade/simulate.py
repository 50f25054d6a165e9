"""Simulated students: each takes their release notebook and hands back a submission of a known kind.

`BEHAVIOURS` maps a name to a function (Sim) -> the submitted file's text (or None: nothing submitted).
The demo's roster, the tests and the benchmark pick behaviours by name; adding a kind of student is one
function and one entry here. Answers come from the manifest (exact) or from the engine's steps
evaluated with every result rounded, as a student working by hand would (`Sim.rounded`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..engine import Step, evaluate, inputs
from ..numfmt import round_sig
from ..problem import ProblemSpec
from .manifest import ClassManifest
from .misconceptions import BY_KEY, wrong_steps


@dataclass
class Sim:
    """One student about to submit: the class, their id and their release notebook (JSON, a private copy)."""

    manifest: ClassManifest
    student: str
    notebook: dict[str, Any]

    def exact(self) -> dict[str, Any]:
        """Every answer variable -> the manifest's exact value, laid out as the problem shows it."""
        record = self.manifest.students[self.student]["problems"]
        return {spec.variable(q): spec.template.display.value(record[spec.key]["answers"][q], q).tolist()
                for spec in self.manifest.problems for q in spec.asked}

    def rounded(self, digits: int | None = None, steps: Mapping[tuple[str, str], Step] | None = None) -> dict[str, Any]:
        """Every answer variable -> the value (laid out as the problem shows it) of a student who rounds each
        step's result to `digits` (default the digits asked) and carries it forward; `steps` puts a wrong version
        of a step, {(problem, name): Step}, in place of the right one (a slip or a misconception:
        hwgen.grade.misconceptions)."""
        out, records = {}, self.manifest.students[self.student]["problems"]
        for spec in self.manifest.problems:
            mine = {name: step for (key, name), step in (steps or {}).items() if key == spec.key}
            trace = worked(spec, records[spec.key], digits or spec.template.significant, mine)
            out.update({spec.variable(q): spec.template.display.value(trace[q], q).tolist() for q in spec.asked})
        return out

    def answered(self, answers: Mapping[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
        """The notebook with each named answer cell replaced by an assignment (a value, or source text if
        a str), and `extra` code cells appended."""
        nb = copy.deepcopy(self.notebook)
        for cell in nb["cells"]:
            variable = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.get("cell_type") == "code" and variable in answers:
                value = answers[variable]
                cell["source"] = value if isinstance(value, str) else assignment(variable, value)
        nb["cells"] += [code_cell(src) for src in extra]
        return nb


def worked(spec: ProblemSpec, record: Mapping[str, Any], digits: int, steps: Mapping[str, Step] | None = None,
           chop: bool = False) -> dict[str, Any]:
    """Every step's value (name -> array) of a student who works one problem by hand: each result kept to `digits`
    significant digits (rounded, or cut off with `chop`) and carried forward; `steps` puts a wrong version of a
    step (by name) in place of the right one. A wrong step that reads a later quantity (the updated weights in
    back-propagation) has that quantity worked out first, from what the student has so far."""
    lr = float(record.get("network", {}).get("lr", spec.template.lr))  # a graph has no learning rate
    trace = inputs(spec.template.problem, record["given"], lr)  # given, lr, n, constants
    right = {s.name: s for s in spec.template.steps}

    def work(name: str) -> None:
        step = (steps or {}).get(name, right[name])
        for i in step.inputs:
            if i not in trace:
                work(i)
        value = evaluate(step, trace)
        trace[name] = chopped(value, digits) if chop else round_sig(value, digits)

    for name in right:
        if name not in trace:
            work(name)
    return trace


def chopped(a: Any, digits: int) -> np.ndarray:
    """Every entry cut off (not rounded) after `digits` significant digits, as a student who truncates writes it."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(a))))
        return np.where(np.isfinite(a) & (a != 0), np.trunc(np.round(a * scale, 6)) / scale, a)


def assignment(variable: str, value: Any) -> str:
    """Python source assigning a value as a student would type it: p1_L = 0.25, p1_b1 = np.array([...])."""
    if isinstance(value, list):
        return f"{variable} = np.array({json.dumps(value)})"
    return f"{variable} = {json.dumps(value)}"


def code_cell(source: str) -> dict[str, Any]:
    """A plain code cell (as a student adds one)."""
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def text(nb: dict[str, Any]) -> str:
    """A notebook's file text."""
    return json.dumps(nb, indent=1) + "\n"


def _one_wrong(sim: Sim) -> str:
    """Correct except the first problem's loss, off by a factor of two (forgot the 1/2, say)."""
    answers = sim.exact()
    first = sim.manifest.problems[0]
    quantity = "L" if "L" in first.asked else next(iter(first.asked))
    answers[first.variable(quantity)] = (np.asarray(answers[first.variable(quantity)]) * 2).tolist()
    return text(sim.answered(answers))


def _allclose_attack(sim: Sim) -> str:
    """Every answer zero, then np.allclose / np.isclose patched to always say True (nbgrader's weak spot)."""
    zeros = {v: (np.zeros_like(np.asarray(a, dtype=float))).tolist() for v, a in sim.exact().items()}
    return text(sim.answered(zeros, ("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                     "np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)",)))


def planted(spec: ProblemSpec, record: Mapping[str, Any], key: str) -> Step | None:
    """The wrong step of the catalogued misconception `key` that a student of this variant would show: the first of
    its forms (catalogue order) that, worked on consistently, changes an asked answer as the problem shows it (a
    transposed matrix that is not square is read back; a layout slip, which is not carried, changes only its own
    answer); None if no form does."""
    exact, carried = worked(spec, record, 16), BY_KEY[key].carried
    show = spec.template.display

    def changes(value: Any, q: str) -> bool:
        read, _ = show.canonical(q, show.value(value, q), exact[q].shape)
        return read is None or not np.allclose(read, exact[q], rtol=1e-3, atol=1e-9)

    for form in (step for m, step in wrong_steps(spec.template) if m.key == key):
        try:
            with np.errstate(all="ignore"):
                values = worked(spec, record, 16, {form.name: form}) if carried else {form.name: evaluate(form, exact)}
        except ValueError:  # a wrong shape the later steps cannot take
            continue
        if any(changes(values[q], q) for q in spec.asked if q in values):
            return form
    return None


def slipped(spec: ProblemSpec) -> Step:
    """A slip in the problem's first asked step: the first entry of its result miscopied (0.3 too large)."""
    first = next(s for s in spec.template.steps if s.name in spec.asked)

    def miscopied(*inputs: Any) -> Any:
        value = np.array(first.fn(*inputs), dtype=float)
        value.flat[0] += 0.3
        return value

    return replace(first, fn=miscopied)


def slips(count: int | None = None) -> Callable[[Sim], str]:
    """A behaviour: a slip (`slipped`) in each of the first `count` problems (default all), everything after it
    worked by hand from it, consistently: the later answers earn credit carried forward."""
    def act(sim: Sim) -> str:
        wrong = {(spec.key, step.name): step for spec in sim.manifest.problems[:count] for step in [slipped(spec)]}
        return text(sim.answered(sim.rounded(steps=wrong)))
    return act


def mistakes(keys: Mapping[int, str]) -> Callable[[Sim], str]:
    """A behaviour: works by hand with the catalogued misconception keys[i] planted in problem i (0-based; `planted`,
    nothing where it does not show on the student's variant)."""
    def act(sim: Sim) -> str:
        wrong = {}
        for index, key in keys.items():
            spec = sim.manifest.problems[index % len(sim.manifest.problems)]
            step = planted(spec, sim.manifest.students[sim.student]["problems"][spec.key], key)
            if step is not None:
                wrong[(spec.key, step.name)] = step
        return text(sim.answered(sim.rounded(steps=wrong)))
    return act


def _copier(sim: Sim) -> str:
    """Hands in the first other roster student's exact answers (a classmate's numbers, not their own)."""
    other = next(s for s in sim.manifest.students if s != sim.student)
    return text(sim.answered(Sim(sim.manifest, other, sim.notebook).exact()))


BEHAVIOURS: dict[str, Callable[[Sim], str | None]] = {
    "correct": lambda sim: text(sim.answered(sim.exact())),
    "rounded": lambda sim: text(sim.answered(sim.rounded())),
    "one_wrong": _one_wrong,
    "blank": lambda sim: text(sim.notebook),
    "broken": lambda sim: text(sim.answered(sim.exact()))[:200],
    "allclose_attack": _allclose_attack,
    "absent": lambda sim: None,
    "rounded_3": lambda sim: text(sim.answered(sim.rounded(3))),
    "slip": slips(1),  # in problem 1's first asked step (one entry of Z1 miscopied)
    "slips": slips(),
    # transposes the weight gradient in problem 1 and uses the squared-error derivative in problem 2 (a
    # cross-entropy net in the demo): both mistakes are named in the feedback
    "misconceptions": mistakes({0: "transposed_gradient", 1: "squared_error_derivative_in_bce"}),
    "copier": _copier,
}


def release_notebook(folder: Path, manifest: ClassManifest, student: str) -> dict[str, Any]:
    """The student's release notebook as `hwgen generate` wrote it."""
    path = folder / "release" / student / manifest.name / f"{manifest.name}.ipynb"
    return json.loads(path.read_text(encoding="utf-8"))


def submit(folder: Path, manifest: ClassManifest, student: str, behaviour: str | Callable[[Sim], str | None],
           submissions: Path | None = None) -> Path | None:
    """Write the submission of one simulated student into submitted/<id>/<assignment>/; its path, or None."""
    act = BEHAVIOURS[behaviour] if isinstance(behaviour, str) else behaviour
    content = act(Sim(manifest, student, release_notebook(folder, manifest, student)))
    if content is None:
        return None
    path = (submissions or folder / "submitted") / student / manifest.name / f"{manifest.name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path
