"""LaTeX worksheets and keys without compiling: every template renders, user text is escaped, numbers are numfmt's."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from hwgen.assignment import Assignment, Student
from hwgen.numfmt import fmt
from hwgen.problem import ProblemSpec
from hwgen.render import latex
from hwgen.render.texescape import MISSING, tex_escape
from hwgen.sampling import sample

AWKWARD = Student("s-01", "O'Brien & Sons_100% {#1} ~x^2 \\o/ $5")


def _assignment(templates, names, **extra):
    specs = tuple(ProblemSpec(f"p{i + 1}", templates[n], dict(templates[n].asked)) for i, n in enumerate(names))
    return Assignment(title="HW_1 & 2", course="CS 101: 100% fun", due="2026-12-01", seed=1, name="hw",
                      instructions="Work alone.\n\nShow work & units.", problems=specs, **extra)


@pytest.mark.parametrize("name", ["xor_net", "regression_3hidden", "bce_net", "relu_sigmoid", "batch_vectorized"])
def test_every_template_renders_a_worksheet_and_a_key(templates, name):
    a = _assignment(templates, [name])
    variant = sample(templates[name], 11)
    sheet, key = latex.worksheet(a, AWKWARD, {"p1": variant}), latex.key(a, AWKWARD, {"p1": variant})
    sig = templates[name].significant
    for doc in (sheet, key):
        assert doc.startswith("\\documentclass") and doc.endswith("\\end{document}\n")
        assert doc.count("\\begin{document}\n\\hwgenstudent{") == 1
        assert r"O\textquotesingle{}Brien \& Sons\_100\% \{\#1\} \textasciitilde{}x\textasciicircum{}2 " \
               r"\textbackslash{}o/ \$5" in doc
        assert r"CS 101: 100\% fun" in doc and r"HW\_1 \& 2" in doc and "Tuesday 1 December 2026" in doc
        body = doc.split("\\begin{document}")[1]
        assert "\\begin{tikzpicture}" in body and body.count("\\hwgenlink{") == sum(
            (a_ + 1) * b_ for a_, b_ in zip(templates[name].network.sizes, templates[name].network.sizes[1:]))
        assert "4 significant digits" in doc or f"{sig} significant digits" in doc
    # One numbered question per asked quantity; the key works out every step, asked ones tagged with their letter.
    assert len(re.findall(r"^  \\item \\parbox\[t\]\{\\linewidth\}\{Compute", sheet, re.M)) == len(templates[name].asked)
    assert len(re.findall(r"question \(([a-z])\)", key)) == len(templates[name].asked)
    assert "\\hwgenweight{" in sheet and "Worked solution" in key and "Worked solution" not in sheet
    for q in ("L", "dW1", "W1_new"):
        assert latex.tex_array(variant.template.display.value(variant.trace[q], q), sig, zeros=True) in key


def test_numbers_are_written_one_way(templates):
    a = _assignment(templates, ["bce_net"])
    variant = sample(templates["bce_net"], 3)
    key = latex.key(a, AWKWARD, {"p1": variant})
    assert "\\begin{bmatrix}" in key and "e-0" not in key and "e+0" not in key
    dw1 = variant.trace["dW1"]
    for v in np.ravel(dw1):
        assert fmt(v, 4, zeros=True) in key


def test_the_drawing_shows_the_students_weights_and_biases(templates):
    variant = sample(templates["relu_sigmoid"], 5)
    net = latex.drawing(variant)
    numbers = [w["number"] for w in net["weights"]]
    d, h, o = templates["relu_sigmoid"].network.sizes
    assert len(net["links"]) == len(numbers) == (d + 1) * h + (h + 1) * o
    expected = [latex.tex_scalar(v, 4) for j in range(h) for v in [variant.given["b1"][j], *variant.given["W1"][:, j]]]
    assert numbers[:len(expected)] == expected
    # Numbers of one layer stand in a column, never closer than LABEL_CLEAR.
    for x in {w["x"] for w in net["weights"]}:
        ys = sorted(float(w["y"]) for w in net["weights"] if w["x"] == x)
        assert min(np.diff(ys)) >= latex.LABEL_CLEAR * latex.PT_PER_CM - 0.01


@pytest.mark.parametrize("text, tex", [
    ("Zoë Ångström-Łukasiewicz", r'Zo\"{e} \r{A}ngstr\"{o}m-\L{}ukasiewicz'),
    ("Nguyễn Văn Ánh", r"Nguy\~{\^{e}}n V\u{a}n \'{A}nh"),
    ("O'Brien & Sons_100%", r"O\textquotesingle{}Brien \& Sons\_100\%"),
    ("a~b^c\\d{e}#$", r"a\textasciitilde{}b\textasciicircum{}c\textbackslash{}d\{e\}\#\$"),
    ("Anne--Marie", "Anne-{}-Marie"),
    ("Straße Ørsted Þór", r"Stra\ss{}e \O{}rsted \TH{}\'{o}r"),
    ("Ştefan “quoted” – ok…", r"\c{S}tefan \textquotedblleft{}quoted\textquotedblright{} \textendash{} ok\dots{}"),
    ("王小明 Дима 😀", f"{MISSING * 3} {MISSING * 4} {MISSING}"),
    ("ﬁne\tline\nbreak", "fine line break"),
    ("Adébáyọ̀ Ògúnlẹ̀", r"Ad\'{e}b\'{a}y\d{\`{o}} \`{O}g\'{u}nl\d{\`{e}}"),  # NFC keeps ọ + a combining grave
    ("Adébáyọ̀", r"Ad\'{e}b\'{a}y\d{\`{o}}"),  # the same, typed fully decomposed
])
def test_user_text_is_escaped(text, tex):
    assert tex_escape(text) == tex


def test_wide_matrices_and_sized_brackets(templates):
    assert latex.sized(r"\sigma($Z1) \odot [$z > 0] \left( x \right)") == \
        r"\sigma\left($Z1\right) \odot \left[$z > 0\right] \left( x \right)"
    a = _assignment(templates, ["xor_net"], paper="a4")
    key = latex.key(a, AWKWARD, {"p1": sample(templates["xor_net"], 2)})
    steps = len(templates["xor_net"].steps)
    body = key.split("\\begin{document}")[1]
    assert "a4paper" in key and body.count("\\fitmath[1em]{") == steps and body.count("\\hwgenwrap{") == 2 * steps
    # A long line of numbers may wrap only before an operator or between two matrices.
    assert latex.pieces(r"\begin{bmatrix} 1 \end{bmatrix} \begin{bmatrix} 2 \end{bmatrix}^{\top} + \begin{bmatrix} 3 "
                        r"\end{bmatrix} \odot \left( 1 - x \right) \sum_{i} y") == [
        r"\begin{bmatrix} 1 \end{bmatrix}", r"\begin{bmatrix} 2 \end{bmatrix}^{\top}",
        r"{} + \begin{bmatrix} 3 \end{bmatrix}", r"{} \odot \left( 1 - x \right) \sum_{i} y"]
    nested = r"\begin{aligned} a &= \begin{bmatrix} 1 & 2 \end{bmatrix} \\ b \end{aligned} - \begin{cases} 1 \end{cases}"
    assert latex.pieces(nested) == [r"\begin{aligned} a &= \begin{bmatrix} 1 & 2 \end{bmatrix} \\ b \end{aligned}",
                                    r"{} - \begin{cases} 1 \end{cases}"]
    assert "\\setcounter{MaxMatrixCols}" not in key.split("\\begin{document}")[1]


def test_matrices_wider_than_ten_columns_raise_the_limit(templates, tmp_path):
    text = (templates["xor_net"].path).read_text(encoding="utf-8").replace("name: xor_net", "name: wide")
    text = text.replace("  X: [[0, 0], [0, 1], [1, 0], [1, 1]]", "  X: {min: -1, max: 1, step: 0.5}")
    text = text.replace("network:", "samples: 12\nnetwork:", 1)
    text = text[:text.index("  Y:\n")] + "  Y: {values: [0, 1]}\n" + text[text.index("  W1:"):]
    from hwgen import bank
    wide = bank.loads(text, tmp_path / "wide.yaml")
    a = _assignment({"wide": wide}, ["wide"])
    key = latex.key(a, AWKWARD, {"p1": sample(wide, 1)})
    assert "\\setcounter{MaxMatrixCols}{12}" in key.split("\\begin{document}")[1]


def test_template_prose_keeps_its_math_and_escapes_the_rest(templates):
    assert latex.prose(r"a 50% cut of $\hat{y}_1$ & more") == r"a 50\% cut of $\hat{y}_1$ \& more"
    assert latex.prose("costs $5 & up") == r"costs \$5 \& up"  # one $ is text, not math
    sheet = latex.worksheet(_assignment(templates, ["bce_net"]), AWKWARD, {"p1": sample(templates["bce_net"], 1)})
    assert r"$L = -[y \log \hat{y} + (1 - y) \log(1 - \hat{y})]$ (natural log)" in sheet
    assert r"(outputs $\times$ inputs), one row per unit, so $Z = X W^{\top} + b$" in sheet  # biases folded


def test_points_on_the_page_are_half_points_without_noise(templates):
    """10 points over xor_net's 19 weights: the worksheet and key show [0.5 pts], [1 pt], [1.5 pts], never 0.526."""
    from hwgen.problem import scale_points

    t = templates["xor_net"]
    a = dataclasses.replace(_assignment(templates, ["xor_net"]),
                            problems=(ProblemSpec("p1", t, scale_points(t.asked, 10)),))
    variant = sample(t, 3)
    for doc in (latex.worksheet(a, AWKWARD, {"p1": variant}), latex.key(a, AWKWARD, {"p1": variant})):
        shown = set(re.findall(r"\[([0-9.]+ pts?)\]", doc))
        assert shown == {"0.5 pts", "1 pt", "1.5 pts"} and "10 pts" in doc


def test_prose_typesets_quantity_names_and_assignment_instructions_keep_their_math(templates):
    assert latex.prose("the error (gradient w.r.t. Z2) and W1_new") == \
        r"the error (gradient w.r.t. ${Z^{(2)}}$) and ${W^{(1)}_{\mathrm{new}}}$"
    assert latex.prose("X, Y, L and n stay words; Z10 and xZ1 too") == "X, Y, L and n stay words; Z10 and xZ1 too"
    a = _assignment(templates, ["xor_net"])
    a = Assignment(**{**vars(a), "instructions": r"The loss is $\frac{1}{2n} \sum (\hat{y} - y)^2$ & Z2 is 2 by 4."})
    sheet = latex.worksheet(a, AWKWARD, {"p1": sample(templates["xor_net"], 1)})
    assert r"The loss is $\frac{1}{2n} \sum (\hat{y} - y)^2$ \& ${Z^{(2)}}$ is 2 by 4." in sheet
    assert r"the output error (gradient w.r.t. ${Z^{(2)}}$)" in sheet


def test_the_key_writes_computed_numbers_with_all_their_digits(templates):
    t = templates["xor_net"]
    variant = sample(t, 4)
    key = latex.key(_assignment(templates, ["xor_net"]), AWKWARD, {"p1": variant})
    body = key.split(r"\subsection*{Worked solution}")[1]
    computed = set(re.findall(r"-?\d+\.\d+", body)) - set(re.findall(r"-?\d+\.\d+", key.split("Worked solution")[0]))
    assert computed, "no computed number found"
    for number in computed:  # 4 significant digits each, trailing zeros kept: 0.6900, 0.04030, 1.300
        assert len(number.lstrip("-").replace(".", "").lstrip("0")) == t.significant, number
    given = {latex.tex_array(v, t.significant) for v in np.ravel(variant.given["W1"])}
    assert all(f"{g}" in body for g in given)  # a given 0.5 is written 0.5, as the worksheet gives it
