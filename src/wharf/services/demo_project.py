"""The demo's own files: a model project rendered from the template with a real ``predict`` (a
rule-based heart-risk score), committed into a git repository, and sample patients as CSV."""

from __future__ import annotations

import csv
import io
import random
import subprocess
from pathlib import Path

from wharf.services.projects import ProjectAnswers, render_project

ANSWERS = ProjectAnswers(
    project_name="Heart Risk",
    author_name="Wharf demo",
    description="A rule-based heart-risk score: the model Wharf's demo serves and runs in batch",
)
BRANCH = "main"
_GIT_IDENTITY = ("-c", "user.name=Wharf demo", "-c", "user.email=demo@wharf.invalid")

PREDICT = '''\
"""The model of Heart Risk: ``predict`` scores one patient.

A rule-based score (points for age, blood pressure, cholesterol, smoking and diabetes), so the
demo needs no training: replace it with your model, keep the contract (a dict in, a dict out).
The web app (``wsgi.py``), the notebooks, the tests and Wharf's batch jobs all call it.
"""

# Points for a measurement at or above each threshold (the highest one reached counts).
RULES = {
    "age": ((65, 3), (55, 2), (45, 1)),
    "systolic_bp": ((160, 3), (140, 2), (130, 1)),
    "cholesterol": ((280, 3), (240, 2), (200, 1)),
}


def predict(args: dict) -> dict:
    """``{"age": 61, "systolic_bp": 150, "cholesterol": 250, "smoker": 1, "diabetes": 0}``
    gives ``{"score": 8, "risk": "high"}``; a ``patient_id`` given is passed through."""
    score = 0
    for field, thresholds in RULES.items():
        value = float(args.get(field) or 0)
        score += next((points for limit, points in thresholds if value >= limit), 0)
    score += 2 * int(bool(args.get("smoker"))) + 2 * int(bool(args.get("diabetes")))
    risk = "high" if score >= 6 else "medium" if score >= 3 else "low"
    answer = {"score": score, "risk": risk}
    if "patient_id" in args:
        answer = {"patient_id": args["patient_id"], **answer}
    return answer
'''

SAMPLE_REQUEST = '{"age": 61, "systolic_bp": 150, "cholesterol": 250, "smoker": 1, "diabetes": 0}'

COLUMNS = ("patient_id", "age", "sex", "systolic_bp", "cholesterol", "smoker", "diabetes")
FILES = 4
ROWS_PER_FILE = 25


def create_project_repository(parent: Path) -> Path:
    """The demo project as a git repository in ``parent`` (rendered and committed once; an
    existing repository with a commit is reused as it is). Returns its folder."""
    folder = parent / "heart_risk"
    if _has_commit(folder):
        return folder
    project = render_project(ANSWERS, parent, overwrite=True)
    (project / "prediction.py").write_text(PREDICT)
    test = project / "tests" / "test_prediction.py"
    test.write_text(_with_sample_request(test.read_text()))
    _git(project, "init", "--quiet", "-b", BRANCH)
    _git(project, "add", "-A")
    _git(project, "commit", "--quiet", "-m", "Heart Risk: a rule-based predict")
    return project


def _with_sample_request(test_source: str) -> str:
    """The template's test, asking about a patient instead of ``hello world``."""
    return test_source.replace('SAMPLE_REQUEST = {"data": "hello world"}', _sample_line())


def _sample_line() -> str:
    return f"SAMPLE_REQUEST = {SAMPLE_REQUEST}"


def _has_commit(folder: Path) -> bool:
    if not (folder / ".git").exists():
        return False
    done = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *_GIT_IDENTITY, *args], cwd=repo, capture_output=True, check=True)


def project_files(project: Path) -> dict[str, bytes]:
    """The committed files of the project (``git ls-files``): what a deployment uploads."""
    listed = subprocess.run(
        ["git", "-C", str(project), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    return {name: (project / name).read_bytes() for name in listed.split("\0") if name}


def patient_files() -> dict[str, bytes]:
    """Sample patients, the same on every run: ``FILES`` CSV files of ``ROWS_PER_FILE`` rows."""
    rng = random.Random(14)  # noqa: S311 - sample data, not a secret
    files = {}
    for number in range(1, FILES + 1):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in range(ROWS_PER_FILE):
            writer.writerow(
                (
                    f"P{number:02d}{row:03d}",
                    rng.randint(30, 78),
                    rng.choice("FM"),
                    round(rng.gauss(128, 16)),
                    round(rng.gauss(205, 35)),
                    int(rng.random() < 0.3),
                    int(rng.random() < 0.15),
                )
            )
        files[f"patients-{number:02d}.csv"] = out.getvalue().encode()
    return files
