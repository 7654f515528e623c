"""The account page's email choices in Chromium, with the built binary and aiosmtpd as the mail server."""
import time

from test_agent_ui import browser, sign_in, wait  # noqa: F401 (browser is a fixture; skips without Chromium)
from test_email import smtp_peer  # noqa: F401 (a fixture; skips without aiosmtpd)
from selenium.webdriver.common.by import By  # noqa: E402


def test_email_choices_on_the_account_page_in_chromium(make_server, backend, browser, smtp_peer):
    """In Chromium the admin turns breach emails off on the account page; the breach then reaches only the bell."""
    controller, recorder, cert = smtp_peer
    server = make_server()
    server.env.update({"ATIENDE_SMTP_URL": f"smtp://atiende:clave-smtp@127.0.0.1:{controller.port}?ca_file={cert}",
                       "ATIENDE_MAIL_FROM": "avisos@tienda.cl", "ATIENDE_PUBLIC_URL": server.base})
    token, workspace = server.setup_workspace()
    server.start()
    sign_in(browser, server)
    browser.get(server.base + "/account")
    assert "Avisos por correo" in browser.page_source
    breach = browser.find_element(By.NAME, "email_sla_breach")
    assert breach.is_selected() and browser.find_element(By.NAME, "email_mention").is_selected()
    breach.click()
    browser.find_element(By.CSS_SELECTOR, "#preferences button[type=submit]").click()
    wait(browser).until(lambda d: "saved=1" in d.current_url)
    assert not browser.find_element(By.NAME, "email_sla_breach").is_selected()
    assert browser.find_element(By.NAME, "email_mention").is_selected()

    status, _ = server.api("POST", f"/api/v1/workspaces/{workspace}/sla-policies", token, {
        "name": "Express", "is_default": True, "rules": {"rules": [{"targets": {"first_response": 2}}], "business_time": False}})
    assert status == 201
    inbox = server.create_api_inbox(token, workspace)
    assert server.post_inbound(inbox, {"message_id": "sla-2", "from": {"id": "c-2", "name": "Jorge"}, "text": "Hola"})[0] == 200
    browser.get(server.base + "/app/tienda/notifications")
    wait(browser, 30).until(lambda d: "El plazo de #1 venció" in d.find_element(By.TAG_NAME, "main").text or d.refresh())
    time.sleep(2)
    assert recorder.messages == [], "the admin turned breach emails off"
