"""`hwgen report`: the class report's numbers against the gradebook, its statistics, and the page in Chromium."""

from __future__ import annotations

import itertools
import re
import shutil
import sqlite3
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from hwgen.grade.gradebook import GRADEBOOK, Gradebook
from hwgen.report.stats import class_stats, flagged, mann_whitney, point_biserial, variant_check

from .conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHART_COLOURS = {"histogram": (0x09, 0x69, 0xDA), "correct": (0x1A, 0x7F, 0x37), "wrong": (0xCF, 0x22, 0x2E),
                 "discrimination": (0x82, 0x50, 0xDF)}  # colours only the charts fill areas with


@pytest.fixture(scope="module")
def reported(course):
    result = run_cli("report", str(course.folder))
    assert result.returncode == 0, result.stderr
    return course, (course.folder / "report.html").read_text(encoding="utf-8")


def test_per_item_shares_match_the_gradebook(reported):
    course, page = reported
    db = sqlite3.connect(course.folder / GRADEBOOK)
    graded = db.execute("SELECT COUNT(*) FROM submissions WHERE status = 'graded'").fetchone()[0]
    with Gradebook(course.folder / GRADEBOOK) as book:
        stats = class_stats(course.manifest, book)
    assert len(stats.items) == sum(len(spec.asked) for spec in course.manifest.problems)
    for item in stats.items:
        counts = dict(db.execute("SELECT i.status, COUNT(*) FROM items i JOIN submissions s USING (student) WHERE "
                                 "s.status = 'graded' AND i.problem = ? AND i.quantity = ? GROUP BY i.status",
                                 (item.problem, item.quantity)).fetchall())
        assert item.graded == graded == sum(counts.values())
        assert {k: v for k, v in item.counts.items() if v} == counts
        cells = re.search(rf"<tr><td>{item.label}</td>(.*?)</tr>", page).group(1)
        shares = re.findall(r'class="num">(\d+)%<', cells)
        assert [int(x) for x in shares] == [round(100 * counts.get(s, 0) / graded) for s in
                                            ("correct", "correct_ecf", "partial", "wrong", "missing", "invalid")]
    named = db.execute("SELECT quantity, COUNT(*) FROM items WHERE misconception IS NOT NULL GROUP BY quantity").fetchall()
    assert named and all(q in page for q, _ in named)


def test_the_page_is_self_contained_and_lists_late_work_overrides_and_copies(reported):
    course, page = reported
    assert page.count("<svg") == 3
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<script" not in page and "@import" not in page
    for text in ("showed the 1/2 on paper", "TA Kim", "file time", "(extended)", "Mann-Whitney", "point-biserial",
                 "Copy flags", "Named misconceptions"):
        assert text in page, text
    late = re.search(r'<section id="late">(.*?)</section>', page, re.S).group(1)
    assert {"cy", "dee", "eve", "fay"} == set(re.findall(r"<tr><td>(\w+)</td>", late))


def test_text_prints_the_same_tables(reported):
    course, page = reported
    result = run_cli("report", str(course.folder), "--text")
    assert result.returncode == 0 and "<svg" not in result.stdout
    for title in ("Scores", "Problems", "Items", "Named misconceptions", "Variant difficulty",
                  "Late submissions and extensions", "Overrides", "Copy flags"):
        assert f"\n{title}\n" in result.stdout and f"<h2>{title}</h2>" in page
    fay = [line for line in result.stdout.splitlines() if line.startswith("fay ")]
    assert any("p1 L" in line and "TA Kim" in line for line in fay)  # the override
    assert any("timestamp.txt" in line and "10%" in line for line in fay)  # the late submission


def test_point_biserial_is_pearsons_r():
    success, rest = [1, 0, 1, 1, 0, 0, 1], [9.0, 3.0, 7.5, 8.0, 4.0, 6.0, 5.0]
    assert point_biserial(success, rest) == pytest.approx(np.corrcoef(success, rest)[0, 1])
    assert point_biserial([1, 1, 1], [1.0, 2.0, 3.0]) is None


def test_mann_whitney_agrees_with_the_exact_permutation_test():
    rng = np.random.default_rng(5)
    picks = np.array(list(itertools.combinations(range(16), 8)))  # every way to split 16 values 8 + 8
    for shift in (0.0, 0.8, 2.0):
        x, y = rng.normal(shift, 1, 8).round(1), rng.normal(0, 1, 8).round(1)
        values = np.concatenate([x, y])
        # ranks by counting (ties share the mean rank), independent of the ranking code under test
        ranks = 1 + (values[None, :] < values[:, None]).sum(1) + 0.5 * ((values[None, :] == values[:, None]).sum(1) - 1)
        u = ranks[picks].sum(axis=1) - 36  # U of each split's first group
        exact = np.mean(np.abs(u - 32) >= abs(u[0] - 32) - 1e-9)  # picks[0] is the observed split, x first
        assert mann_whitney(x, y) == pytest.approx(exact, abs=0.02)
    assert mann_whitney([1, 2, 3, 4], [5, 6, 7, 8, 9]) is None  # too few to test


def test_variant_difficulty_is_flagged_when_success_follows_the_numbers():
    sensitivities = [0.001 * k for k in range(1, 21)]
    follows = variant_check(sensitivities, [s < 0.0105 for s in sensitivities])  # the sensitive half got it wrong
    mixed = variant_check(sensitivities, [k % 2 == 0 for k in range(20)])
    few = variant_check(sensitivities[:6], [True, True, False, True, True, True])
    assert follows.p < 0.001 and mixed.p > 0.5 and few.p is None
    assert [c.flagged for c in flagged([follows, mixed, few])] == [True, False, False]
    borderline = replace(follows, p=0.03)  # below 0.05 alone, not once two items are tested (Bonferroni)
    assert [c.flagged for c in flagged([borderline, mixed])] == [False, False]
    assert [c.flagged for c in flagged([borderline])] == [True]


def _chromium(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", *args], capture_output=True, text=True, timeout=timeout)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_report_and_feedback_render_in_headless_chromium(reported, tmp_path):
    from PIL import Image

    course, _ = reported
    assert run_cli("feedback", str(course.folder), "--student", "fay").returncode == 0
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefinedFunction()</script></body></html>")
    assert _console_errors(_chromium("--dump-dom", broken.as_uri()).stderr)  # the check can fail
    for page, charts in ((course.folder / "report.html", 3), (course.folder / "feedback" / "fay.html", 0)):
        dom = _chromium("--dump-dom", page.as_uri())
        assert dom.returncode == 0 and not _console_errors(dom.stderr), dom.stderr
        assert dom.stdout.count("<svg") == charts and "</html>" in dom.stdout
        shot = tmp_path / f"{page.stem}.png"
        result = _chromium(f"--screenshot={shot}", "--window-size=1200,5200", page.as_uri())
        assert shot.is_file(), result.stderr
        pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
        assert (pixels.min(axis=2) < 128).mean() > 0.002  # text was drawn
        for name, colour in CHART_COLOURS.items() if charts else ():
            near = (np.abs(pixels - np.array(colour)).max(axis=2) < 24).sum()
            assert near > 2000, (page.name, name, near)
        shutil.copy(shot, course.folder / shot.name)  # kept beside the class for a look
