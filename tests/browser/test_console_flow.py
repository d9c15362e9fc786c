"""The console as a new user meets it, in Chromium: ``wharf up --demo``, then the seed's flow.

The module's server is a real ``wharf up --demo`` (its sample app, data asset of patients,
batch endpoint and first job), and the user signs in with the admin password the demo printed.
They import an app from a local git repository, build it again, push through its webhook and
scale it; create a batch job from the Create job form, watch it complete and download its
``predictions.csv``; and see a failing job's root cause at the top of its page. The main pages
are rendered at 390 px and 1280 px (no sideways scrolling), checked with axe-core, and
photographed for docs/console.md.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import NARROW, WIDE, screenshot
from tests.gitrepos import commit_files, git
from tests.hookpayloads import github_push
from tests.processes import RunningWharf, run_wharf_up
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(600)]

DEMO_DONE = "  wharf batch-endpoint invoke --name heart-risk"
JOB_TIMEOUT_MS = 180_000
BUILD_TIMEOUT = 240

PREDICT_V2 = """\
def predict(args: dict) -> dict:
    return {"prediction": "v2"}
"""

BROKEN_SCORE = """\
import os


def init():
    pass


def run(mini_batch):
    for path in mini_batch:
        if os.path.basename(path) == "patients-03.csv":
            raise ValueError("patients-03.csv has no blood pressure column we trust")
    return [os.path.basename(path) for path in mini_batch]
"""

BROKEN_DEPLOYMENT = """\
name: broken
endpoint_name: heart-risk
type: model
code_configuration:
  code: ./broken
  scoring_script: score.py
environment:
  requirements: []
settings:
  mini_batch_size: 1
  error_threshold: 0
  retry_settings: {max_retries: 0, timeout: 60}
"""


@pytest.fixture(scope="module")
def wharf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWharf]:
    """``wharf up --demo``, finished, with a second deployment that fails on one file."""
    folder = tmp_path_factory.mktemp("wharf")
    with run_wharf_up(folder, "--demo") as running:
        wait_until(lambda: DEMO_DONE in running.log.read_text(), 300, "the demo's summary")
        assert "Demo ready" in running.log.read_text(), running.log.read_text()
        work = folder / "work"
        (work / "broken").mkdir(parents=True)
        (work / "broken" / "score.py").write_text(BROKEN_SCORE)
        (work / "broken.yml").write_text(BROKEN_DEPLOYMENT)
        created = running.cli("batch-deployment", "create", "-f", str(work / "broken.yml"))
        assert created.returncode == 0, created.stderr
        yield running


@pytest.fixture(scope="module")
def password(wharf: RunningWharf) -> str:
    """The admin password ``wharf up --demo`` printed."""
    shown = re.search(r"user admin, password (\S+) ", wharf.log.read_text())
    assert shown, wharf.log.read_text()
    return shown.group(1)


def sign_in(page: Page, password: str) -> None:
    page.goto("/login")
    form = page.locator("form", has=page.get_by_label("User name"))
    form.get_by_label("User name").fill("admin")
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/w/default/topology$"))


WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll("main *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .filter((e) => !e.closest(".table-wrap, pre"))
    .slice(0, 5)
    .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")
        + " " + (e.textContent || "").trim().slice(0, 40))"""


def shows_after_reloads(page: Page, where: Callable[[], Locator], text: str) -> None:
    """Reload until ``where()`` holds ``text`` (pages that do not update themselves)."""

    def shown() -> bool:
        page.reload()
        return text in where().inner_text()

    wait_until(shown, BUILD_TIMEOUT, f"{text!r} on {page.url}")


def make_project(wharf: RunningWharf, folder: Path) -> Path:
    """A model project rendered by ``wharf init`` and committed on ``main``."""
    made = wharf.cli("init", "--no-input", "--project-name", "My Model", "-o", str(folder))
    assert made.returncode == 0, made.stderr
    project = folder / "my_model"
    git(project, "init", "--quiet", "-b", "main")
    commit_files(project, {}, "first commit")
    return project


def test_import_an_app_build_it_again_push_to_its_webhook_and_scale_it(
    page: Page, password: str, wharf: RunningWharf, tmp_path: Path
) -> None:
    project = make_project(wharf, tmp_path)
    sign_in(page, password)
    page.get_by_role("navigation", name="Console").get_by_role(
        "link", name="Import from Git"
    ).click()
    page.get_by_label("Git repository URL").fill(project.as_uri())
    page.get_by_label("Git repository URL").press("Tab")  # leaving the field reads the repository
    expect(page.locator("#detected")).to_contain_text("Python")
    page.get_by_label("Name", exact=True).fill("my-model")
    screenshot(page, "import")
    assert_accessible(page, "Import from Git")
    page.get_by_role("button", name="Create", exact=True).click()

    expect(page).to_have_url(re.compile(r"/w/default/topology\?selected=my-model$"))
    panel = page.get_by_role("complementary", name="Selected app")
    shows_after_reloads(page, lambda: panel, "Build #1 is complete")
    expect(panel).to_contain_text(f"{wharf.url}/apps/default/my-model/")
    shows_after_reloads(page, lambda: panel, "1 of 1 pod ready")  # a settled picture
    screenshot(page, "topology")
    assert_accessible(page, "Topology with its side panel")

    panel.get_by_role("button", name="Start build").click()
    expect(page).to_have_url(re.compile(r"/w/default/apps/my-model/builds/2$"))
    expect(page.locator("[data-sse-status]")).to_have_text(
        re.compile(r"^Build #2 is complete\.?$"), timeout=BUILD_TIMEOUT * 1000
    )
    page.goto("/w/default/apps/my-model")
    serving = page.locator("dt:text-is('Serving') + dd")
    shows_after_reloads(page, lambda: serving, "Build #2")
    page.goto("/w/default/apps/my-model/builds/2")
    screenshot(page, "build")
    assert_accessible(page, "a build's page")

    # The webhook: copy the URL with its secret, push a commit, post what GitHub would.
    page.goto("/w/default/apps/my-model/webhooks")
    page.get_by_role("button", name="Copy URL with Secret (github)").click()
    hook = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(rf"{wharf.url}/hooks/default/my-model/[^/]+/github", hook), hook
    sha = commit_files(project, {"prediction.py": PREDICT_V2}, "predict v2")
    pushed = httpx.post(
        hook,
        content=json.dumps(github_push(project, sha, "refs/heads/main")),
        headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
    )
    assert pushed.status_code in (200, 202), pushed.text
    page.goto("/w/default/apps/my-model/builds")
    shows_after_reloads(page, lambda: page.get_by_role("row", name=re.compile("#3")), "Complete")
    app_url = f"{wharf.url}/apps/default/my-model/predictions"
    wait_until(
        lambda: httpx.post(app_url, json={}).json() == {"prediction": "v2"},
        BUILD_TIMEOUT,
        "build #3 to serve",
    )

    # Scale to 2 in the side panel.
    page.goto("/w/default/topology?selected=my-model")
    panel.get_by_role("button", name="Increase the replicas of my-model").click()
    expect(panel.get_by_role("status")).to_contain_text("2")
    shows_after_reloads(page, lambda: panel, "my-model-1")
    page.goto("/w/default/apps/my-model")
    screenshot(page, "app")
    assert_accessible(page, "an app's page")


def no_sideways_scroll(page: Page) -> None:
    """The page fits its width; wide tables and logs scroll in their own boxes."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], (
        f"{page.url} is {width} px wide at {viewport['width']} px: "
        f"{page.evaluate(WIDER_THAN_VIEWPORT)}"
    )


def tab_to(page: Page, check: str, presses: int = 40) -> None:
    """Press Tab until ``check`` (a JavaScript expression about the focused element) holds."""
    for _ in range(presses):
        if page.evaluate(f"(e => {check})(document.activeElement)"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached an element where {check}")


def focus_is_visible(page: Page) -> bool:
    style = "getComputedStyle(document.activeElement)"
    return bool(page.evaluate(f"{style}.outlineStyle !== 'none' || {style}.boxShadow !== 'none'"))


def test_sign_in_and_create_a_job_with_the_keyboard_alone(page: Page, password: str) -> None:
    page.goto("/w/default/topology")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert_accessible(page, "the sign-in page")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab_to(page, "e.name === 'username'")
    assert focus_is_visible(page)
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/w/default/topology$"))
    expect(page.get_by_role("heading", name="Topology")).to_be_visible()

    # A form by keyboard: Batch endpoints, the endpoint, Create job, the data asset, submit.
    for link in ("Batch endpoints", "heart-risk", "Create job"):
        tab_to(page, f"e.tagName === 'A' && e.textContent.trim() === {link!r}")
        assert focus_is_visible(page), link
        with page.expect_navigation():
            page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Create job")).to_be_visible()
    tab_to(page, "e.name === 'inputs.input.asset'")
    page.keyboard.type("heart-patients")
    assert page.get_by_label("Data asset of input").input_value() == "heart-patients"
    tab_to(page, "e.tagName === 'BUTTON' && e.textContent.trim() === 'Create job'")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"^heart-risk-"))).to_be_visible()
    expect(page.locator("[data-job-status]")).to_have_text("Completed", timeout=JOB_TIMEOUT_MS)


def test_a_job_from_the_create_job_form_completes_and_its_predictions_download(
    page: Page, password: str, tmp_path: Path
) -> None:
    sign_in(page, password)
    page.get_by_role("navigation", name="Console").get_by_role(
        "link", name="Batch endpoints"
    ).click()
    page.get_by_role("link", name="heart-risk", exact=True).click()
    page.get_by_role("link", name="Create job", exact=True).click()
    expect(page.get_by_role("heading", name="Create job")).to_be_visible()
    screenshot(page, "create-job")
    assert_accessible(page, "the Create job form")
    page.get_by_label("Data asset of input").select_option("heart-patients")
    page.get_by_label("Experiment name").fill("from-the-console")
    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_role("heading", name=re.compile(r"^heart-risk-"))).to_be_visible()
    status = page.locator("[data-job-status]")
    expect(status).to_have_text("Completed", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("[data-progress='items_done']").first).to_have_text("4")
    page.reload()  # the finished page: its preview and the download link
    expect(page.get_by_role("table").filter(has_text="patient_id")).to_be_visible()
    screenshot(page, "job")
    assert_accessible(page, "a completed job's page")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "predictions.csv"
    saved = tmp_path / "predictions.csv"
    download.save_as(saved)
    with saved.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 100
    assert set(rows[0]) == {"patient_id", "score", "risk"}
    assert {row["risk"] for row in rows} <= {"low", "medium", "high"}


def test_a_failing_job_shows_its_root_cause_at_the_top(page: Page, password: str) -> None:
    sign_in(page, password)
    page.goto("/w/default/batch-endpoints/heart-risk/jobs/new?deployment=broken")
    page.get_by_label("Data asset of input").select_option("heart-patients")
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("[data-job-status]")).to_have_text("Failed", timeout=JOB_TIMEOUT_MS)
    page.reload()
    cause = page.get_by_role("region", name="Why it failed")
    expect(cause).to_contain_text("patients-03.csv has no blood pressure column we trust")
    # At the top: the first section under the title, above progress, details and the log.
    first_section = page.locator("main section").first
    expect(first_section).to_have_attribute("aria-labelledby", "root-cause")
    screenshot(page, "job-failed")
    assert_accessible(page, "a failed job's page")


MAIN_PAGES = {
    "topology": "/w/default/topology",
    "batch-endpoints": "/w/default/batch-endpoints",
    "batch-endpoint": "/w/default/batch-endpoints/heart-risk",
    "jobs": "/w/default/jobs",
    "data": "/w/default/data",
    "workbenches": "/w/default/workbenches",
}


PHOTOGRAPHED_IN_THE_FLOW = {"topology"}
"""Pages whose 1280 px picture the flow takes, in a more telling state (an app selected)."""


@pytest.mark.parametrize("name", list(MAIN_PAGES))
def test_main_pages_fit_390_and_1280_px_and_pass_axe(page: Page, password: str, name: str) -> None:
    sign_in(page, password)
    page.goto(MAIN_PAGES[name])
    expect(page.locator("main h1")).to_be_visible()
    for viewport in (NARROW, WIDE):
        page.set_viewport_size(viewport)
        no_sideways_scroll(page)
    assert_accessible(page, f"the {name} page")
    screenshot(page, name, NARROW)
    if name not in PHOTOGRAPHED_IN_THE_FLOW:
        screenshot(page, name)
