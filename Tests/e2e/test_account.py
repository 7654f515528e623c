"""The account page in Chromium: a person sees the other browser signed in as them and signs it out, makes a read-only
API token that expires, uses it, and revokes it; in Spanish and English, at desktop and phone width."""
from http.cookiejar import CookieJar
import re
import urllib.parse
import urllib.request

from test_agent_ui import PASSWORD, browser, sign_in, wait, set_language  # noqa: F401 (skips without Chromium)
from test_email import smtp_peer  # noqa: F401 (a fixture; skips without aiosmtpd)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def other_browser(server, email):
    """Another browser (a script with its own User-Agent) signed in through the form; returns its opener."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604.1")]
    page = opener.open(server.base + "/login").read().decode()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"_csrf": csrf, "email": email, "password": PASSWORD}).encode()
    landed = opener.open(server.base + "/login", data=form)
    assert "/app/" in landed.geturl(), landed.geturl()
    return opener


def signed_in(opener, server):
    return "/login" not in opener.open(server.base + "/account").geturl()


def test_sessions_and_tokens_on_the_account_page(make_server, backend, browser):  # noqa: F811
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    sign_in(browser, server)
    phone = other_browser(server, "admin@example.com")
    assert signed_in(phone, server)

    browser.get(server.base + "/account")
    rows = browser.find_elements(By.CSS_SELECTOR, "#session-list li")
    assert len(rows) == 2, [r.text for r in rows]
    this = browser.find_element(By.CSS_SELECTOR, "#session-list li.current")
    assert "este navegador" in this.text and "Chrome en Linux" in this.text, this.text
    other = next(r for r in rows if "Safari en iOS" in r.text)
    other.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(lambda d: "saved=sessions" in d.current_url)
    assert "Esas sesiones quedaron cerradas" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#session-list li")) == 1
    assert not signed_in(phone, server), "the phone was signed out"

    # A read-only token for 30 days: shown once, it reads and changes nothing.
    browser.find_element(By.CSS_SELECTOR, "#token-form input[name=name]").send_keys("Informe nocturno")
    Select(browser.find_element(By.CSS_SELECTOR, "#token-form select[name=days]")).select_by_value("30")
    Select(browser.find_element(By.CSS_SELECTOR, "#token-form select[name=scope]")).select_by_value("read")
    browser.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    value = wait(browser).until(lambda d: d.find_element(By.ID, "new-token-value")).text
    assert value.startswith("atd_"), value
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#token-list li") if "Informe nocturno" in r.text)
    assert "Solo lectura" in row.text and "nunca usado" in row.text and "vence el" in row.text, row.text
    status, _ = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", value)
    assert status == 200
    status, body = server.api("POST", f"/api/v1/workspaces/{workspace}/teams", value, {"name": "Nivel 2"})
    assert status == 403 and body["error"]["code"] == "read_only_token", body
    status, teams = server.api("GET", f"/api/v1/workspaces/{workspace}/teams", token)
    assert status == 200 and "Nivel 2" not in str(teams), teams
    browser.get(server.base + "/account")
    assert value not in browser.page_source, "shown only once"
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#token-list li") if "Informe nocturno" in r.text)
    assert "último uso: ahora" in row.text, "its last use: just now"

    # A token without a name is refused beside the form; nothing is made.
    count = len(browser.find_elements(By.CSS_SELECTOR, "#token-list li"))
    browser.execute_script("document.querySelector('#token-form input[name=name]').removeAttribute('required')")
    browser.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    error = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, ".form-error[role=alert]"))
    assert "nombre" in error.text, error.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#token-list li")) == count

    # Revoked: it stops working.
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#token-list li") if "Informe nocturno" in r.text)
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait(browser).until(lambda d: "saved=token" in d.current_url)
    assert "Informe nocturno" not in browser.find_element(By.ID, "tokens").find_element(By.XPATH, "..").text
    status, _ = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", value)
    assert status == 401

    # In English, and on a phone: the tables scroll inside themselves, never the page.
    set_language(browser, server, "en")
    phone_again = other_browser(server, "admin@example.com")
    browser.get(server.base + "/account")
    assert "Where you are signed in" in browser.page_source and "Safari on iOS" in browser.page_source
    browser.set_window_size(400, 900)
    browser.get(server.base + "/account")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the account page scrolls sideways by {overflow}px at 400px"
    browser.find_element(By.XPATH, "//form[contains(@action, '/account/sessions/end-others')]//button").click()
    wait(browser).until(lambda d: "saved=sessions" in d.current_url)
    assert not signed_in(phone_again, server)
    assert "/login" not in browser.current_url


def test_password_reset_by_email_in_chromium(make_server, backend, browser, smtp_peer):  # noqa: F811
    """Forgot the password: the link from the sign-in page arrives through a real SMTP server; the new one works once."""
    import email
    import time
    controller, recorder, cert = smtp_peer
    server = make_server()
    server.env.update({"ATIENDE_SMTP_URL": f"smtp://atiende:clave-smtp@127.0.0.1:{controller.port}?ca_file={cert}",
                       "ATIENDE_MAIL_FROM": "avisos@tienda.cl", "ATIENDE_PUBLIC_URL": server.base})
    server.setup_workspace()
    server.start()
    browser.get(server.base + "/login?lang=es")
    browser.find_element(By.ID, "forgot-password").click()
    browser.find_element(By.NAME, "email").send_keys("admin@example.com")
    browser.find_element(By.CSS_SELECTOR, "#reset-ask button[type=submit]").click()
    assert "va en camino un enlace" in wait(browser).until(lambda d: d.find_element(By.ID, "reset-sent")).text
    deadline = time.time() + 30
    while not recorder.messages and time.time() < deadline:
        time.sleep(0.2)
    assert recorder.messages, "the reset mail arrived"
    _, recipients, raw = recorder.messages[0]
    assert recipients == ["admin@example.com"]
    body = email.message_from_bytes(raw).get_payload(decode=True).decode()
    link = re.search(re.escape(server.base) + r"/password/reset/\S+", body).group(0)

    browser.delete_all_cookies()
    browser.get(link)
    browser.find_element(By.NAME, "password").send_keys("una clave nueva y larga")
    browser.find_element(By.CSS_SELECTOR, "#reset-choose button[type=submit]").click()
    wait(browser).until(lambda d: "/app/" in d.current_url)
    browser.delete_all_cookies()
    sign_in(browser, server, password="una clave nueva y larga")
    browser.get(link + "?lang=es")
    assert "venció o ya se usó" in browser.find_element(By.TAG_NAME, "main").text


def test_two_factor_sign_in_with_pyotp(make_server, backend, browser):  # noqa: F811
    """Two-factor in Chromium: set up from the account page with a code pyotp computes, then asked at sign-in; a wrong
    code fails, the right one enters; a recovery code enters once."""
    import pyotp
    server = make_server()
    server.setup_workspace()
    server.start()
    sign_in(browser, server)
    browser.get(server.base + "/account")
    browser.find_element(By.XPATH, "//form[@action='/account/two-factor']//button").click()
    key = wait(browser).until(lambda d: d.find_element(By.ID, "two-factor-secret")).text.replace(" ", "")
    assert browser.find_element(By.CSS_SELECTOR, "a[href^='otpauth://totp/']").get_attribute("href").find("secret=" + key) > 0
    totp = pyotp.TOTP(key)
    browser.find_element(By.CSS_SELECTOR, "#two-factor-confirm input[name=code]").send_keys(totp.now())
    browser.find_element(By.CSS_SELECTOR, "#two-factor-confirm button[type=submit]").click()
    codes = [e.text for e in wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#recovery-codes li code"))]
    assert len(codes) == 10
    assert "Activada" in browser.find_element(By.ID, "two-factor-on").text

    def password_step():
        browser.delete_all_cookies()
        browser.get(server.base + "/login?lang=es")
        browser.find_element(By.NAME, "email").send_keys("admin@example.com")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        return wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "#two-factor-code input[name=code]"))

    def code_step(code):
        field = password_step()
        field.send_keys(code)
        browser.find_element(By.CSS_SELECTOR, "#two-factor-code button[type=submit]").click()

    code_step("000000" if totp.now() != "000000" else "111111")
    assert "no es correcto" in wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, ".form-error")).text
    assert "/login/code" in browser.current_url
    # The next step's code: the one that turned it on may be this step's, and a code works once.
    import time
    code_step(totp.at(time.time() + 30))
    wait(browser).until(lambda d: "/app/" in d.current_url)
    code_step(codes[0])
    wait(browser).until(lambda d: "/app/" in d.current_url)
    code_step(codes[0])
    assert "no es correcto" in wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, ".form-error")).text
