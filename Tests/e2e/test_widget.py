"""The live chat widget in real Chromium, embedded in a customer's website on another origin, against the built
binary, with an agent answering in the agent workspace in a second Chromium."""
import base64
import email
import email.policy
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from test_agent_ui import browser, live, make_browser, shot, sign_in, wait  # noqa: F401 (browser is a fixture; skips without Chromium)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

# A 1×1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture
def shop():
    """The customer's own website (another origin) with the widget's script tag pasted in."""
    state = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            page = (f'<!doctype html><html lang="{state.get("lang", "es")}"><head><title>Tienda Sur</title>'
                    '<style>body { font-family: serif; color: red } div { border: 5px solid lime }</style></head>'
                    '<body><h1>Tienda Sur</h1><p>Zapatillas y más.</p>'
                    + (state.get("tag") or f'<script src="{state["server"]}/widget.js" data-inbox="{state["inbox"]}" async></script>')
                    + '</body></html>')
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/"
    yield state
    server.shutdown()


def widget(driver):
    """The widget's shadow root (found again after every reload)."""
    host = wait(driver, 10).until(EC.presence_of_element_located((By.ID, "atiende-widget")))
    return host.shadow_root


def in_widget(driver, css, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = widget(driver).find_elements(By.CSS_SELECTOR, css)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{css} never appeared in the widget")


def widget_text(driver, css):
    """The text of every element matching `css` in the widget, read in one step (lines are re-rendered live)."""
    return driver.execute_script(
        "const root = document.getElementById('atiende-widget')?.shadowRoot;"
        "return root ? [...root.querySelectorAll(arguments[0])].map((e) => e.textContent).join(' ') : '';", css)


def until(predicate, seconds=10, message="condition"):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


def open_chat(driver, shop_state):
    driver.get(shop_state["url"])
    in_widget(driver, ".launcher")[0].click()
    until(lambda: widget_text(driver, "header .status") != "", message="the session")


def say(driver, text):
    box = in_widget(driver, ".composer textarea")[0]
    box.send_keys(text)
    widget(driver).find_element(By.CSS_SELECTOR, ".composer .send").click()


def test_visitor_and_agent_chat_live(make_server, backend, browser, shop):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token,
                               {"name": "Chat Tienda Sur", "channel": "webchat",
                                "settings": {"color": "#0a7d45", "greeting_es": "¡Hola! ¿En qué te ayudamos?",
                                             "greeting_en": "Hi! How can we help?"}})
    assert status == 201, inbox
    shop.update(server=server.base, inbox=inbox["id"])

    # The admin copies the tag from the inboxes page, as is, into the shop's page (another port): it must be absolute.
    sign_in(browser, server)
    browser.get(server.base + "/app/tienda/settings/inboxes")
    tag = browser.find_element(By.CSS_SELECTOR, "code.embed-code").text
    assert tag.startswith(f'<script src="{server.base}/widget.js"'), tag
    assert "ATIENDE_PUBLIC_URL" in browser.find_element(By.ID, "public-url-hint").text
    shop.update(tag=tag)
    # The agent has the desk open: the team is online.
    browser.get(server.base + "/app/tienda/inbox")
    live(browser)
    visitor = make_browser()
    try:
        open_chat(visitor, shop)
        root = widget(visitor)
        assert "En línea" in widget_text(visitor, "header .status")
        assert "¡Hola! ¿En qué te ayudamos?" in widget_text(visitor, ".greeting")
        # The host page's styles do not reach inside the widget.
        assert root.find_element(By.CSS_SELECTOR, "header").value_of_css_property("background-color") == "rgba(10, 125, 69, 1)"
        assert "0, 255, 0" not in visitor.find_element(By.ID, "atiende-widget").value_of_css_property("border-top-color")
        assert "255, 0, 0" not in root.find_element(By.CSS_SELECTOR, ".greeting").value_of_css_property("color")

        # The visitor writes; the agent's inbox shows it live.
        sent = time.time()
        say(visitor, "Hola, ¿tienen las zapatillas en talla 38?")
        wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "inbox-list"), "talla 38"))
        delivery = time.time() - sent
        assert delivery < 2.0, delivery
        until(lambda: "talla 38" in widget_text(visitor, ".msg.visitor"), message="the visitor's own line")
        shot(visitor, "widget-visitor-es", backend)

        # The agent opens it (the visitor sees it read), types (the visitor sees "typing") and answers.
        browser.get(server.base + "/app/tienda/conversations/1")
        live(browser)
        until(lambda: "Visto" in widget_text(visitor, ".msg.visitor .meta"), message="the read receipt")
        browser.find_element(By.ID, "reply-text").send_keys("Sí, nos quedan dos pares")
        until(lambda: "está escribiendo" in widget_text(visitor, ".typing"), message="the agent typing")
        assert "admin está escribiendo" in widget_text(visitor, ".typing")
        browser.find_element(By.CSS_SELECTOR, "#composer button[type=submit]").click()
        until(lambda: "nos quedan dos pares" in widget_text(visitor, ".msg.team"), message="the agent's reply")
        assert widget_text(visitor, ".msg.team .author") == "admin"  # the agent by first name (setup names them after the email)

        # The visitor types: the agent sees it.
        in_widget(visitor, ".composer textarea")[0].send_keys("Perfecto")
        wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "visitor-typing"), "El cliente está escribiendo"))

        # An image goes through, to the agent's timeline.
        path = os.path.join(tempfile.mkdtemp(), "pie.png")
        with open(path, "wb") as f:
            f.write(PNG)
        widget(visitor).find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(path)
        until(lambda: widget(visitor).find_elements(By.CSS_SELECTOR, ".msg.visitor img[src^='blob:']"), message="the image")
        wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "pie.png"))
        shot(browser, "widget-agent-es", backend)

        # A reload keeps the whole history.
        visitor.refresh()
        in_widget(visitor, ".launcher")[0].click()
        until(lambda: "talla 38" in widget_text(visitor, ".msg.visitor") and "dos pares" in widget_text(visitor, ".msg.team"),
              message="the history after a reload")

        # The chat closed, the agent answers: a count on the launcher, the reply beside it and in the page's title.
        in_widget(visitor, ".launcher")[0].click()
        title = visitor.title
        browser.find_element(By.ID, "reply-text").send_keys("¿Algo más en que te ayudemos?")
        browser.find_element(By.CSS_SELECTOR, "#composer button[type=submit]").click()
        until(lambda: widget_text(visitor, ".badge") == "1", message="the unread count")
        assert "¿Algo más en que te ayudemos?" in widget_text(visitor, ".preview")
        assert visitor.title.startswith("(1) Nuevo mensaje"), visitor.title
        shot(visitor, "widget-unread-es", backend)
        widget(visitor).find_element(By.CSS_SELECTOR, ".preview").click()
        until(lambda: not widget(visitor).find_element(By.CSS_SELECTOR, ".badge").is_displayed(), message="the count cleared")
        assert visitor.title == title

        # Another visitor (a browser without the token) sees nothing of it, in English.
        other = make_browser()
        try:
            shop["lang"] = "en"
            open_chat(other, shop)
            assert "Hi! How can we help?" in widget_text(other, ".greeting")
            assert widget(other).find_elements(By.CSS_SELECTOR, ".msg.visitor, .msg.team:not(.greeting)") == []
        finally:
            other.quit()
    finally:
        visitor.quit()


class MailRecorder:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok"


def test_offline_visitor_leaves_email(make_server, backend, shop):
    """Offline mode collects an email; the reply written after the visitor left reaches it (aiosmtpd as the mail server)."""
    aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed (pip install -r Tests/e2e/requirements.txt)")
    from atiende_server import free_port
    recorder = MailRecorder()
    mail_server = aiosmtpd.Controller(recorder, hostname="127.0.0.1", port=free_port())
    mail_server.start()
    server = make_server(env={"ATIENDE_SMTP_URL": f"smtp://127.0.0.1:{mail_server.port}?security=none",
                              "ATIENDE_MAIL_FROM": "avisos@tienda.cl", "ATIENDE_WIDGET_AWAY_MAIL_SECONDS": "1"})
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {"name": "Chat", "channel": "webchat"})
    assert status == 201
    # Nobody has the desk open, and the inbox closes at night: the widget says when the team is back.
    now = time.gmtime()
    opens = (now.tm_hour * 60 + now.tm_min + 120) % 1380
    hours = {"time_zone": "UTC", "holidays": [],
             "week": {day: [{"start": opens, "end": opens + 60}] for day in ("sun", "mon", "tue", "wed", "thu", "fri", "sat")}}
    status, answer = server.api("PUT", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}/service-levels", token,
                                {"business_hours": hours})
    assert status == 200, answer
    shop.update(server=server.base, inbox=inbox["id"])
    visitor = make_browser()
    try:
        open_chat(visitor, shop)
        assert "no hay nadie conectado" in widget_text(visitor, "header .status")
        assert "Volvemos" in widget_text(visitor, ".away")
        form = in_widget(visitor, ".leave-email input")[0]
        form.send_keys("no-es-un-email")
        widget(visitor).find_element(By.CSS_SELECTOR, ".leave-email button").click()
        until(lambda: "no parece correcto" in widget_text(visitor, ".error"), message="the email refusal")
        form.clear()
        form.send_keys("rosa@example.com")
        widget(visitor).find_element(By.CSS_SELECTOR, ".leave-email button").click()
        until(lambda: "rosa@example.com" in widget_text(visitor, ".email-saved"), message="the email confirmation")
        say(visitor, "Necesito cambiar mi pedido 5521")
        until(lambda: visitor_message_stored(server, workspace, token), message="the message stored")
        shot(visitor, "widget-offline-es", backend)
        status, contacts = server.api("GET", f"/api/v1/workspaces/{workspace}/contacts", token)
        assert [c.get("email") for c in contacts["data"]] == ["rosa@example.com"]
        # The visitor leaves the site; the morning's answer goes to the email they left.
        visitor.quit()
        visitor = None
        number = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", token)[1]["data"][0]["number"]
        status, _ = server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/{number}/messages", token,
                               {"text": "Hola Rosa, ya cambiamos tu pedido 5521."})
        assert status == 201
        until(lambda: recorder.messages, seconds=20, message="the reply by email")
        recipients, raw = recorder.messages[0]
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert recipients == ["rosa@example.com"] and mail["Subject"] == "Tienda respondió a tu mensaje (solicitud n.º 1)", mail["Subject"]
        assert "Hola Rosa, ya cambiamos tu pedido 5521." in mail.get_body(("plain",)).get_content()
    finally:
        if visitor:
            visitor.quit()
        mail_server.stop()


def visitor_message_stored(server, workspace, token):
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", token)
    return status == 200 and len(page["data"]) == 1


def test_demo_page_embeds_the_widget(make_server, backend, browser):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {"name": "Chat", "channel": "webchat"})
    browser.get(f"{server.base}/widget/demo?inbox={inbox['id']}&lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Live chat demo"
    in_widget(browser, ".launcher")[0].click()
    until(lambda: widget_text(browser, "header strong") == "Chat", message="the widget on the demo page")
    say(browser, "Testing from the demo")
    until(lambda: visitor_message_stored(server, workspace, token), message="the demo message stored")
    logs = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] if hasattr(browser, "get_log") else []
    assert not [e for e in logs if "Content Security Policy" in e["message"]], logs


def test_widget_says_online_once_the_team_answers(make_server, backend, browser, shop):
    """Opened while nobody had the desk open, the widget says so and offers to take an email; when an agent answers, it
    says the team is online and the offer goes."""
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {"name": "Chat", "channel": "webchat"})
    shop.update(server=server.base, inbox=inbox["id"])
    open_chat(browser, shop)
    assert "no hay nadie conectado" in widget_text(browser, "header .status")
    say(browser, "¿Hay alguien?")
    until(lambda: visitor_message_stored(server, workspace, token), message="the message stored")
    number = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", token)[1]["data"][0]["number"]
    assert server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/{number}/messages", token, {"text": "¡Sí, aquí estamos!"})[0] == 201
    until(lambda: "aquí estamos" in widget_text(browser, ".msg.team"), message="the reply in the widget")
    until(lambda: "En línea" in widget_text(browser, "header .status"), message="the status back online")
    assert widget_text(browser, ".leave-email") == ""
