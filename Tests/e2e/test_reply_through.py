"""Conversations on channels that cannot carry a reply, answered in Chromium through one that reaches the customer:
a contact-form request answered by email (aiosmtpd as the mail server) whose email answer joins the same conversation,
and a logged phone call answered by WhatsApp (the provider stand-in as Meta's Graph API)."""
import email
import email.policy
import email.utils
import json
import time
from email.message import EmailMessage

from provider_standin import StandIn
from test_agent_ui import browser, shot, sign_in, wait  # noqa: F401 (browser is a fixture; skips without Chromium)
from test_email import post_mail, smtp_peer, until  # noqa: F401 (smtp_peer is a fixture; skips without aiosmtpd)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def messages(server, workspace, token, number):
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/{number}/messages", token)
    assert status == 200, page
    return page["data"]


def reply_in_browser(browser, text):
    box = browser.find_element(By.ID, "reply-text")
    box.send_keys(text)
    browser.find_element(By.ID, "composer-send").click()
    wait(browser, 10).until(lambda d: d.find_element(By.ID, "reply-text").get_attribute("value") == "")


def test_form_request_answered_by_email_and_the_answer_joins_it(make_server, backend, browser, smtp_peer):
    controller, recorder, cert = smtp_peer
    server = make_server()
    server.env["ATIENDE_PUBLIC_URL"] = server.base
    token, workspace = server.setup_workspace()
    server.start()
    assert server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {"name": "Formulario", "channel": "webform"})[0] == 201
    status, mail_inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "Correo", "channel": "email",
        "settings": {"address": "soporte@tienda.cl", "display_name": "Tienda Sur", "smtp_host": "127.0.0.1",
                     "smtp_port": str(controller.port), "smtp_security": "starttls", "smtp_username": "atiende", "smtp_ca_file": cert},
        "secrets": {"smtp_password": "clave-smtp"}})
    assert status == 201, mail_inbox

    # The customer writes through the public form.
    browser.get(server.base + "/help/tienda/contact")
    browser.find_element(By.NAME, "name").send_keys("Pablo Ruiz")
    browser.find_element(By.NAME, "email").send_keys("pablo@example.com")
    browser.find_element(By.NAME, "subject").send_keys("Factura")
    browser.find_element(By.NAME, "message").send_keys("Necesito la factura de mi compra.")
    time.sleep(3.2)  # people take longer than the form's 3-second minimum
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "request-number")))

    # The agent sees the form cannot carry the reply and answers through the email inbox, chosen for them.
    sign_in(browser, server)
    browser.get(server.base + "/app/tienda/conversations/1")
    via = Select(browser.find_element(By.ID, "reply-via"))
    assert via.first_selected_option.text == "Correo · Correo", [o.text for o in via.options]
    assert [o.text for o in via.options] == ["Correo · Correo"], "the form itself is not offered"
    reply_in_browser(browser, "Hola Pablo, adjuntamos tu factura en el próximo correo.")
    mail_from, rcpt, raw = until(lambda: recorder.messages and recorder.messages[0], seconds=30, message="the reply at the SMTP server")
    assert mail_from == "soporte@tienda.cl" and rcpt == ["pablo@example.com"], rcpt
    reply = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(reply["Subject"]) == "Re: Factura [#1]", str(reply["Subject"])
    assert "Hola Pablo, adjuntamos tu factura" in reply.get_body(preferencelist=("plain",)).get_content()
    wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Enviado"))

    # Pablo answers from his mail client: the answer joins conversation 1, live on the agent's page.
    answer = EmailMessage()
    answer["From"] = "Pablo Ruiz <pablo@example.com>"
    answer["To"] = reply["Reply-To"]
    answer["Subject"] = "Re: " + str(reply["Subject"])
    answer["Message-ID"] = email.utils.make_msgid(domain="example.com")
    answer["In-Reply-To"] = reply["Message-ID"]
    answer["References"] = reply["Message-ID"]
    answer.set_content("Gracias, quedo atento.\n")
    assert post_mail(server, mail_inbox, answer)[0] == 200
    wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Gracias, quedo atento."))
    assert [m["text"] for m in messages(server, workspace, token, 1) if m["kind"] == "incoming"][-1].startswith("Gracias, quedo atento.")
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", token)
    assert len(page["data"]) == 1, "no second conversation"
    shot(browser, "form-answered-by-email", backend)


def test_logged_call_answered_by_whatsapp(make_server, backend, browser):
    provider = StandIn()
    try:
        provider.queue("/1234/messages", 200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.standin-1"}]})
        server = make_server()
        token, workspace = server.setup_workspace()
        server.start()
        assert server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {"name": "Central", "channel": "phone"})[0] == 201
        status, _ = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
            "name": "WhatsApp ventas", "channel": "whatsapp", "settings": {"phone_number_id": "1234", "api_base": provider.base},
            "secrets": {"access_token": "EAAG-token", "app_secret": "app-secret"}})
        assert status == 201

        # The agent creates the caller by hand, logs the call, and answers it by WhatsApp.
        sign_in(browser, server)
        browser.get(server.base + "/app/tienda/contacts")
        browser.find_element(By.CSS_SELECTOR, "details summary").click()
        form = browser.find_element(By.ID, "new-contact")
        form.find_element(By.NAME, "name").send_keys("Pedro Lagos")
        form.find_element(By.NAME, "phone").send_keys("+56 9 1111 2222")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser).until(EC.presence_of_element_located((By.LINK_TEXT, "Pedro Lagos"))).click()
        log = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".log-contact form")))
        log.find_element(By.NAME, "notes").send_keys("Preguntó cuándo sale su pedido")
        log.find_element(By.NAME, "resolve").click()  # the call stays open: the answer is owed
        log.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser).until(EC.url_contains("/conversations/1"))
        via = Select(browser.find_element(By.ID, "reply-via"))
        assert via.first_selected_option.text == "WhatsApp ventas · WhatsApp", [o.text for o in via.options]
        reply_in_browser(browser, "Pedro, tu pedido sale hoy.")
        sent = until(lambda: provider.find("/v21.0/1234/messages"), seconds=30, message="the WhatsApp reply at the provider")[0]
        assert sent["headers"]["authorization"] == "Bearer EAAG-token"
        body = json.loads(sent["body"])
        assert body["to"] == "56911112222" and body["text"]["body"] == "Pedro, tu pedido sale hoy.", body
        wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Enviado"))
        [outgoing] = [m for m in messages(server, workspace, token, 1) if m["kind"] == "outgoing"]
        assert outgoing["delivery_status"] == "sent" and outgoing["provider_message_id"] == "wamid.standin-1", outgoing
        shot(browser, "call-answered-by-whatsapp", backend)
    finally:
        provider.stop()
