"""The leaderboard page in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium; ``make setup`` installs them where apt-get can be used as root): every table shows the expected rows
and the numbers of the results files, a click on a column header sorts the table, Enter and Space on a focused
header do the same, the script logs no error, and a screenshot is saved in the test's folder."""

from __future__ import annotations

import shutil
import statistics

import pytest

from hybrid_plugin.analysis.html_page import PAGE_COLUMNS, write_leaderboard_page
from hybrid_plugin.evaluation.results import load_results

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.webdriver.common.by import By  # noqa: E402 - after the skip above
from selenium.webdriver.common.keys import Keys  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def browser():
    binary = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("no Chromium with its chromedriver on PATH: install Debian's chromium and chromium-driver "
                    "(`make setup` does where apt-get can be used as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def opened(browser, page_inputs, tmp_path):
    page = write_leaderboard_page(page_inputs.paths, tmp_path / "site" / "index.html")
    browser.get(page.as_uri())
    return browser, page, page_inputs


def _tables(driver):
    return {t.get_attribute("data-name"): t for t in driver.find_elements(By.CSS_SELECTOR, "table.board")}


def _labels(table):
    return [th.get_attribute("data-label") for th in table.find_elements(By.CSS_SELECTOR, "thead th")]


def _column(table, label):
    index = _labels(table).index(label)
    return [row.find_elements(By.XPATH, "./th|./td")[index] for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def _values(table, label):
    return [None if c.get_attribute("data-value") is None else float(c.get_attribute("data-value"))
            for c in _column(table, label)]


def test_the_browser_shows_every_row_and_the_numbers_of_the_results_files(opened, tmp_path):
    driver, page, inputs = opened
    assert driver.title == "hybrid-plugin leaderboard"
    tables = _tables(driver)
    rows = {name: len(t.find_elements(By.CSS_SELECTOR, "tbody tr")) for name, t in tables.items()}
    assert rows == {"xquad-r": 2 + 6, "xquad-r (first 100 items)": 3, "mlqa-r": 1 + 6}  # + the paper's rows
    # the study's table, as rendered: each mean is that of the results files the row names
    table = tables["xquad-r (first 100 items)"]
    study = inputs.study / "eval" / "xquad-r"
    members = {"untuned": [study / "base"], "X-X": [study / "xx" / f"seed{s}" for s in (0, 1)],
               "hybrid": [study / "hybrid-a0.5" / f"seed{s}" for s in (0, 1)]}
    samplings = [c.text for c in _column(table, "sampling")]
    for column in PAGE_COLUMNS:
        cells = _column(table, column.header)
        for sampling, cell in zip(samplings, cells):
            values = [load_results(p).measure(column.setting, column.measure) for p in members[sampling]]
            digits = 1 if column.measure == "bias" else 4
            assert float(cell.get_attribute("data-value")) == pytest.approx(statistics.fmean(values), abs=1e-12)
            assert cell.get_attribute("textContent").lstrip("★").startswith(f"{statistics.fmean(values):.{digits}f}")
            assert cell.value_of_css_property("text-align") == "right"
    driver.save_screenshot(str(tmp_path / "leaderboard.png"))
    assert (tmp_path / "leaderboard.png").read_bytes().startswith(b"\x89PNG")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_a_click_on_a_header_sorts_the_table(opened, tmp_path):
    driver, _, _ = opened
    table = _tables(driver)["xquad-r"]
    before = _values(table, "multi mAP")
    header = table.find_element(By.CSS_SELECTOR, 'thead th[data-label="multi mAP"]')
    header.find_element(By.TAG_NAME, "button").click()
    ascending = _values(table, "multi mAP")
    assert ascending != before and ascending == sorted(before)
    assert header.get_attribute("aria-sort") == "ascending"
    header.find_element(By.TAG_NAME, "button").click()
    assert _values(table, "multi mAP") == sorted(before, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    assert "sorted by multi mAP, descending" in driver.find_element(By.ID, "sort-status").get_attribute("textContent")
    # a column with missing values (R@1 of the paper's rows): those stay last in either direction
    r1 = table.find_element(By.CSS_SELECTOR, 'thead th[data-label="mono R@1"] button')
    r1.click()
    values = _values(table, "mono R@1")
    present = [v for v in values if v is not None]
    assert values == present + [None] * (len(values) - len(present)) and present == sorted(present)
    driver.save_screenshot(str(tmp_path / "sorted.png"))


def test_enter_and_space_on_a_focused_header_sort_the_table(opened):
    driver, _, _ = opened
    table = _tables(driver)["xquad-r (first 100 items)"]
    button = table.find_element(By.CSS_SELECTOR, 'thead th[data-label="bias"] button')
    before = _values(table, "bias")
    # reach the header from the keyboard: Tab moves focus through the page's controls until the bias header
    body = driver.find_element(By.TAG_NAME, "body")
    body.click()
    for _ in range(200):
        if driver.switch_to.active_element == button:
            break
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element == button, "the bias header cannot be reached with Tab"
    button.send_keys(Keys.ENTER)
    assert _values(table, "bias") == sorted(before)
    button.send_keys(Keys.SPACE)
    assert _values(table, "bias") == sorted(before, reverse=True)
    header = table.find_element(By.CSS_SELECTOR, 'thead th[data-label="bias"]')
    assert header.get_attribute("aria-sort") == "descending"
    # a text column sorts too
    model = table.find_element(By.CSS_SELECTOR, 'thead th[data-label="sampling"] button')
    model.send_keys(Keys.ENTER)
    samplings = [c.text for c in _column(table, "sampling")]
    assert samplings == sorted(samplings, key=str.lower)
