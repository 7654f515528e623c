"""The XSS corpus (Tests/AtiendeMailTests/Fixtures/xss.json) sanitized by the built binary and rendered in real Chromium:
none of the bodies may run anything. A control renders one body unsanitized to prove the harness sees execution."""
import json
import os
import subprocess
import urllib.parse

import pytest

from atiende_server import ROOT
from test_agent_ui import make_browser  # noqa: F401 (skips without Chromium)
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402

BINARY = os.environ.get("ATIENDE_BIN", os.path.join(ROOT, ".build", "debug", "atiende"))
CORPUS = os.path.join(ROOT, "Tests", "AtiendeMailTests", "Fixtures", "xss.json")


def render(driver, body):
    page = "<!doctype html><html><head><meta charset=utf-8></head><body>" + body + "</body></html>"
    driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(page))
    driver.execute_script("return document.readyState")
    # Give timers, onload and onerror handlers their chance; hover and click everything a handler might hang on.
    for element in driver.find_elements("css selector", "body *")[:50]:
        try:
            driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))", element)
        except Exception:
            pass
    driver.execute_script("return new Promise((r) => setTimeout(r, 150))")
    try:
        driver.switch_to.alert.accept()
        return "alert"
    except NoAlertPresentException:
        pass
    return driver.execute_script("return window.__xss === undefined ? null : String(window.__xss)")


def test_sanitized_corpus_runs_nothing_in_chromium(tmp_path):
    bodies = json.load(open(CORPUS))
    assert len(bodies) >= 30
    out = subprocess.run([BINARY, "mail", "sanitize", "--json"], input=json.dumps(bodies).encode(), cwd=tmp_path,
                         capture_output=True, check=True, env={k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")})
    clean = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert len(clean) == len(bodies)
    driver = make_browser()
    try:
        # The control: unsanitized, the first body does run — so a silent result below means "nothing ran".
        assert render(driver, bodies[0]) == "1"
        ran = {n: result for n, html in enumerate(clean) if (result := render(driver, html)) is not None}
        assert ran == {}, {n: (bodies[n], clean[n]) for n in ran}
    finally:
        driver.quit()
