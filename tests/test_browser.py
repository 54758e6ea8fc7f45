"""Real-browser checks in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

`make test` installs the browser when it is missing. Screenshots go to $VIM_SCREENSHOT_DIR when set
(e.g. docs/screenshots), else to the test's temporary folder.
"""

import json
import os
import socket
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from vim.bundle import DEFAULT_BUNDLE, load_bundle
from vim.config import SampleConfig
from vim.demo.app import Demo, build_app
from vim.generate import Generator
from vim.p2.compare import write_compare
from vim.p2.prompts import load_prompts, select
from vim.p2.run import run_p2

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("headless Chromium is missing: `make test` installs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,1000", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("VIM_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def demo_url(small_bundle):
    # The bundled checkpoint (what users run) when it is there; the small test bundle otherwise. No warm-up:
    # the first request compiles what it uses (tests/test_demo.py warms a demo up; bench/demo_latency.py this one).
    demo = Demo(load_bundle(DEFAULT_BUNDLE if (DEFAULT_BUNDLE / "parti").is_dir() else small_bundle))
    app = build_app(demo)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_demo_generates_in_a_browser(browser, demo_url, shots):
    browser.get(demo_url)
    wait = WebDriverWait(browser, 120)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#prompt textarea")))
    box.send_keys("a big red circle left of a small blue square")
    browser.find_element(By.CSS_SELECTOR, "#generate").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery img")) >= 4)
    wait.until(lambda d: "image(s) in" in d.find_element(By.CSS_SELECTOR, "#timing").text)
    assert "4 image(s) in" in browser.find_element(By.CSS_SELECTOR, "#timing").text
    browser.save_screenshot(str(shots / "demo_generate.png"))


def test_demo_shows_the_empty_prompt_error(browser, demo_url, shots):
    browser.get(demo_url)
    wait = WebDriverWait(browser, 120)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#generate"))).click()
    wait.until(lambda d: "prompt is empty" in d.find_element(By.TAG_NAME, "body").text)
    browser.save_screenshot(str(shots / "demo_empty_prompt.png"))


def test_p2_report_and_compare_page(browser, small_bundle, tmp_path, shots):
    generator = Generator(load_bundle(small_bundle), batch_size=2)
    prompts = select(load_prompts(), challenge="Quantity", limit=4)
    for name, scale in (("A", 3.0), ("B", 1.0)):
        run_p2(generator, tmp_path / name, prompts, n=2, sample=SampleConfig(cfg_scale=scale), progress=False)
    browser.get((tmp_path / "A" / "index.html").as_uri())
    assert "4 prompts · 8 images" in browser.find_element(By.ID, "totals").text
    assert all(img.get_property("naturalWidth") == 64 for img in browser.find_elements(By.TAG_NAME, "img"))
    browser.save_screenshot(str(shots / "p2_index.png"))

    write_compare(tmp_path / "A", tmp_path / "B", tmp_path / "compare.html", seed=1)
    browser.get((tmp_path / "compare.html").as_uri())
    browser.find_element(By.CSS_SELECTOR, '#item0 button[data-choice="left"]').click()
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)  # judges the highlighted item1
    assert browser.find_element(By.CSS_SELECTOR, "#item0 .chosen").text == "left"
    assert browser.find_element(By.CSS_SELECTOR, "#item1 .chosen").text == "right"
    assert browser.find_element(By.ID, "progress").text == "2 / 4 judged"
    saved = browser.execute_script("return judgements();")
    meta = json.loads(browser.find_element(By.ID, "meta").get_attribute("textContent"))
    winners = [j["winner"] for j in saved["judgements"]]
    expected = [meta["items"][0]["left"], "B" if meta["items"][1]["left"] == "A" else "A"]
    assert winners == expected
    browser.save_screenshot(str(shots / "p2_compare.png"))
