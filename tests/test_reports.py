"""The reports as their readers get them: conformance.html in a real browser, junit.xml against the JUnit
schema CI systems read, conformance.md as a Markdown parser sees it; for a conformant and a faulty run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from markdown_it import MarkdownIt

from conformance.resources import data_dir
from tests.conftest import REPO, SuiteRun, reference_gateway, run_against

# Screenshots the browser test takes, for a person to look at: under reports/, which git ignores.
SCREENSHOT_DIR = REPO / "reports" / "selftest-screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
INSTALL_BROWSER = "apt-get install -y chromium chromium-driver (scripts/install-test-tools does it)"
# Flags for a closed network: without the background-networking ones Chromium keeps dialling Google's hosts.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000")
GITHUB_STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes GitHub Actions takes into one job summary


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory) -> SuiteRun:
    """A run against a gateway that 404s ?beta=true: one MUST failure (PATH-2) among the areas selected."""
    report_dir = tmp_path_factory.mktemp("faulty")
    with reference_gateway("query-string-404") as gateway:
        run = run_against(gateway, report_dir, "-m", "not streaming and not e2e")
    assert run.requirements_with("failed") == ["PATH-2"], run.stdout[-2000:]
    return run


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        message = f"headless Chromium is needed to check the HTML report: {INSTALL_BROWSER}"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it; a missing browser there is a broken job, not a skip
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def open_report(browser, run: SuiteRun, screenshot_name: str):
    from selenium.webdriver.common.by import By

    from selenium.common.exceptions import TimeoutException

    browser.get((run.report_dir / "conformance.html").as_uri())
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    try:  # for people looking at the page; the checks below read the DOM, which a busy machine does not delay
        browser.save_screenshot(str(SCREENSHOT_DIR / screenshot_name))
    except TimeoutException:
        print(f"screenshot {screenshot_name} skipped: Chromium took too long to paint on a loaded machine")
    return lambda selector: browser.find_elements(By.CSS_SELECTOR, selector)


def test_html_report_in_a_browser_shows_the_verdict_first_and_the_matrix(browser, reference_run):
    find = open_report(browser, reference_run, "reference.png")
    verdict = find("#cgc-verdict")[0]
    assert verdict.is_displayed() and verdict.text == "Verdict: CONFORMANT"
    top = {h.text: h.location["y"] for h in find("h2") if h.is_displayed()}  # where on the page, not where in the DOM
    assert top["Summary"] < top["What was tested"] < top["Requirements"] < top["Environment"]
    matrix_ids = [row.get_attribute("id") for row in find("#cgc-matrix tr[id^=req-]") if row.is_displayed()]
    assert {f"req-{r['id']}" for r in reference_run.document["requirements"]} == set(matrix_ids)
    assert not find("#cgc-failures")
    # pytest-html draws the results table with JavaScript: rows exist only if the inline script ran offline.
    assert len(find("#results-table tbody.results-table-row")) == len(reference_run.document["tests"])
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0  # nothing fetched


def test_html_report_of_a_faulty_run_tells_a_reviewer_what_failed_why_and_the_fix(browser, faulty_run):
    from selenium.webdriver.common.by import By

    find = open_report(browser, faulty_run, "faulty.png")
    assert find("#cgc-verdict")[0].text == "Verdict: NOT CONFORMANT"
    failure = find("#cgc-failures li")
    assert len(failure) == 1 and failure[0].is_displayed()
    requirement = next(r for r in faulty_run.document["requirements"] if r["id"] == "PATH-2")
    assert "PATH-2" in failure[0].text and requirement["impact"] in failure[0].text and requirement["first_fix"] in failure[0].text
    status = find("#req-PATH-2")[0]
    assert status.is_displayed() and "failed" in status.text and requirement["first_fix"] in status.text
    failed_rows = [row for row in find("#results-table tbody.results-table-row") if "failed" in row.get_attribute("class")]
    assert failed_rows and all("PATH-2" in row.text for row in failed_rows)
    # The failure message is shown; the full transcript is collapsed until the reviewer opens it.
    message = failed_rows[0].find_element(By.CSS_SELECTOR, ".log")
    assert message.is_displayed() and "What the gateway did:" in message.text and "First fix:" in message.text
    evidence = failed_rows[0].find_element(By.CSS_SELECTOR, "details")
    transcript = evidence.find_element(By.CSS_SELECTOR, "pre")
    assert not transcript.is_displayed()
    evidence.find_element(By.CSS_SELECTOR, "summary").click()
    assert transcript.is_displayed() and "POST " in transcript.text


def test_every_published_json_schema_is_valid_against_its_meta_schema():
    # The suite validates with each schema's validator class directly, without re-checking the schema every run.
    schemas = sorted(data_dir("schemas").glob("*.schema.json"))
    assert schemas
    for path in schemas:
        document = json.loads(path.read_text())
        jsonschema.validators.validator_for(document).check_schema(document)


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(data_dir("schemas") / "junit.xsd"))


@pytest.mark.parametrize("which", ["reference_run", "faulty_run"])
def test_junit_validates_and_names_requirements(which, request, junit_schema):
    run: SuiteRun = request.getfixturevalue(which)
    junit = run.report_dir / "junit.xml"
    junit_schema.validate(str(junit))
    tree = junit_schema.to_dict(str(junit))
    cases = [case for suite in tree["testsuite"] for case in suite.get("testcase", [])]
    assert len(cases) == len(run.document["tests"])
    for case in cases:
        properties = {p["@name"]: p["@value"] for p in case["properties"]["property"]}
        assert properties["level"] in ("MUST", "SHOULD") and properties["requirement"]
    failed = [c for c in cases if c.get("failure")]
    assert len(failed) == sum(t["outcome"] == "failed" for t in run.document["tests"])


def test_junit_schema_rejects_a_malformed_report(tmp_path, reference_run, junit_schema):
    broken = (reference_run.report_dir / "junit.xml").read_text().replace('tests="', 'tests="x', 1)
    (tmp_path / "junit.xml").write_text(broken)
    assert not junit_schema.is_valid(str(tmp_path / "junit.xml"))


@pytest.mark.parametrize("which", ["reference_run", "faulty_run"])
def test_markdown_summary_parses_with_a_failure_table_row_per_failed_requirement(which, request):
    run: SuiteRun = request.getfixturevalue(which)
    text = (run.report_dir / "conformance.md").read_text(encoding="utf-8")
    assert len(text.encode()) < GITHUB_STEP_SUMMARY_LIMIT
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    heading = next(t for t in tokens if t.type == "inline")
    assert run.document["verdict"].upper() in heading.content
    rows = _table_rows(tokens)
    failed = [r for r in run.document["requirements"] if r["status"] in ("failed", "accepted")]
    assert len(rows) == len(failed) + (1 if failed else 0)  # header row plus one per failure
    assert all(len(row) == 5 for row in rows)
    for row, requirement in zip(rows[1:], failed):
        assert row[0].startswith(requirement["id"]) and row[4] == requirement["first_fix"]


def _table_rows(tokens) -> list[list[str]]:
    rows, current = [], None
    for token in tokens:
        if token.type == "tr_open":
            current = []
        elif token.type == "inline" and current is not None:
            current.append(token.content)
        elif token.type == "tr_close":
            rows.append(current)
            current = None
    return rows


def test_screenshots_stay_out_of_git():
    check = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", str(SCREENSHOT_DIR / "reference.png")])
    assert check.returncode == 0, "reports/ must be ignored by git so screenshots are never committed"
