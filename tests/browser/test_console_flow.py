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
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import NARROW, WIDE, screenshot
from tests.processes import RunningWharf, run_wharf_up
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(600)]

DEMO_DONE = "  wharf batch-endpoint invoke --name heart-risk"
JOB_TIMEOUT_MS = 180_000

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


def no_sideways_scroll(page: Page) -> None:
    """The page fits its width; wide tables and logs scroll in their own boxes."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], (
        f"{page.url} is {width} px wide at {viewport['width']} px: "
        f"{page.evaluate(WIDER_THAN_VIEWPORT)}"
    )


def test_sign_in_with_the_keyboard_alone(page: Page, password: str) -> None:
    page.goto("/w/default/topology")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert_accessible(page, "the sign-in page")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(10):
        if page.evaluate("document.activeElement.name") == "username":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/w/default/topology$"))
    expect(page.get_by_role("heading", name="Topology")).to_be_visible()


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
}


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
    screenshot(page, name)
