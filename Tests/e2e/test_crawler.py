"""The crawler: every page a person can reach from the menu of the demo workspace, as an admin and as an agent, in
Spanish and English, at desktop, tablet and phone width, in real Chromium. It follows every internal link, submits
every GET form with its default values and with each option of each select (the way a browser sends them), and fails
on any 4xx/5xx, any console error, any sideways scrolling, and any text of the other language's translations showing.
"""
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from atiende_server import ROOT
from test_agent_ui import browser, make_browser, wait  # noqa: F401 (skips without Chromium)
from selenium.webdriver.common.by import By  # noqa: E402

WIDTHS = [1440, 900, 400]
PASSWORD = "atiende-demo"
TRANSLATIONS = os.path.join(ROOT, "Sources", "AtiendeWeb", "Resources", "translations")
# Pages of the same shape (another conversation, another contact) are visited this many times, not all of them.
PER_SHAPE = 2


def shape(path):
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/{id}", path)
    return re.sub(r"/\d+", "/{n}", path)


def foreign_texts(language):
    """Texts of the other language that this one words differently: none of them may show on a page."""
    with open(os.path.join(TRANSLATIONS, "es.json")) as f:
        es = json.load(f)
    with open(os.path.join(TRANSLATIONS, "en.json")) as f:
        en = json.load(f)
    mine, other = (es, en) if language == "es" else (en, es)
    texts = set()
    for key, value in other.items():
        if mine.get(key) == value:
            continue
        for piece in re.split(r"\{\d+\}", value):
            piece = piece.strip(" .,:;·…()")
            # Long enough to be a phrase of the interface, not a word both languages share.
            if len(piece) >= 14 and " " in piece and piece not in " ".join(mine.values()):
                texts.add(piece)
    return texts


def fetch_status(url, cookies):
    request = urllib.request.Request(url, headers={"Cookie": cookies, "Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class Crawl:
    def __init__(self, server, driver, language, width, role):
        self.server, self.driver, self.language, self.width, self.role = server, driver, language, width, role
        self.problems = []
        self.visited = set()
        self.shapes = {}
        self.foreign = foreign_texts(language)

    def cookies(self):
        return "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())

    def where(self, url):
        return f"[{self.role} {self.language} {self.width}px] {urllib.parse.urlparse(url).path}"

    def check_page(self, url):
        status = fetch_status(url, self.cookies())
        if status >= 400:
            self.problems.append(f"{self.where(url)} answered {status}")
            return []
        self.driver.get(url)
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                self.problems.append(f"{self.where(url)} console: {entry['message'][:200]}")
        overflow = self.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 1:
            wide = self.driver.execute_script("""
                const w = document.documentElement.clientWidth;
                return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1
                    && getComputedStyle(e).position !== 'fixed' && e.closest('[data-scroll]') === null)
                  .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ')[0] : ''));
            """)
            self.problems.append(f"{self.where(url)} scrolls sideways by {overflow}px ({', '.join(wide)})")
        text = self.driver.find_element(By.TAG_NAME, "body").text
        for foreign in self.foreign:
            if foreign in text:
                self.problems.append(f"{self.where(url)} shows untranslated '{foreign}'")
        links = [a.get_attribute("href") for a in self.driver.find_elements(By.CSS_SELECTOR, "a[href]")]
        forms = self.driver.execute_script("""
            return [...document.querySelectorAll('form')].filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'get'
                && !f.dataset.api).map(f => ({
                action: f.action,
                fields: [...f.elements].filter(e => e.name && e.type !== 'submit' && e.type !== 'button' && !e.disabled
                    && ((e.type !== 'checkbox' && e.type !== 'radio') || e.checked)).map(e => [e.name, e.value]),
                selects: [...f.querySelectorAll('select')].filter(s => s.name).map(s => [s.name, [...s.options].map(o => o.value)]),
            }));
        """)
        for form in forms:
            self.check_form(url, form)
        return links

    def check_form(self, page, form):
        base = dict(form["fields"])
        variants = [base]
        for name, values in form["selects"]:
            for value in values:
                variants.append({**base, name: value})
        for fields in variants:
            url = form["action"].split("?")[0] + "?" + urllib.parse.urlencode(fields)
            status = fetch_status(url, self.cookies())
            if status >= 400:
                self.problems.append(f"{self.where(page)} form {urllib.parse.urlparse(form['action']).path} with {fields} answered {status}")

    def run(self, start):
        queue = [start]
        origin = urllib.parse.urlparse(self.server.base).netloc
        while queue:
            url = queue.pop(0).split("#")[0]
            parsed = urllib.parse.urlparse(url)
            if parsed.netloc != origin or url in self.visited:
                continue
            # Downloads (attachments, a contact's export) and the raw widget script are not pages; signing out would end the crawl.
            if re.search(r"/attachments/|/logout|\.eml$|/widget\.js|/assets/|/contacts/[^/]+/export$", parsed.path):
                continue
            key = shape(parsed.path)
            if self.shapes.get(key, 0) >= PER_SHAPE:
                continue
            self.shapes[key] = self.shapes.get(key, 0) + 1
            self.visited.add(url)
            queue += [link for link in self.check_page(url) if link]


def sign_in_as(driver, server, email, language):
    driver.get(server.base + f"/login?lang={language}")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, 10).until(lambda d: "/app/" in d.current_url or "/account" in d.current_url)


def set_language(driver, server, language):
    """The person's own language decides the desk's."""
    from selenium.webdriver.support.ui import Select
    driver.get(server.base + "/account")
    Select(driver.find_element(By.NAME, "language")).select_by_value(language)
    driver.find_element(By.CSS_SELECTOR, "#preferences button[type=submit]").click()
    wait(driver).until(lambda d: "saved=1" in d.current_url)


@pytest.mark.parametrize("role,email", [("admin", "demo@atiende.local"), ("agent", "diego.demo@atiende.local")])
def test_every_page_link_and_form_works(make_server, backend, role, email):
    server = make_server()
    server.command("demo")
    server.start()
    problems, pages = [], 0
    driver = make_browser()
    try:
        for language in ("es", "en"):
            sign_in_as(driver, server, email, language)
            set_language(driver, server, language)
            driver.get(server.base + "/")
            start = driver.current_url
            for width in WIDTHS:
                driver.set_window_size(width, 900)
                crawl = Crawl(server, driver, language, width, role)
                crawl.run(start)
                pages += len(crawl.visited)
                problems += crawl.problems
            driver.delete_all_cookies()
    finally:
        driver.quit()
    assert pages > 20, f"only {pages} pages reached"
    assert not problems, "\n".join(sorted(set(problems))[:80])
