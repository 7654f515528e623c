"""Messaging channels end to end against the built binary, with the providers' own libraries as independent peers:
twilio's RequestValidator signs what Twilio would send; python-telegram-bot builds the Update objects Telegram would
post. Outgoing calls go to a local stand-in provider that records them and answers with the providers' shapes."""
import datetime
import json
import time
import urllib.parse

import pytest

from atiende_server import http
from provider_standin import StandIn

twilio_validator = pytest.importorskip("twilio.request_validator", reason="twilio is not installed (pip install -r Tests/e2e/requirements.txt)")
telegram = pytest.importorskip("telegram", reason="python-telegram-bot is not installed (pip install -r Tests/e2e/requirements.txt)")

PUBLIC = "https://desk.example.com"


@pytest.fixture
def provider():
    standin = StandIn()
    yield standin
    standin.stop()


def until(predicate, seconds=15, message="condition"):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


def messages(server, workspace, token, number):
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/{number}/messages", token)
    assert status == 200, page
    return page["data"]


def test_twilio_signed_by_the_twilio_library(make_server, backend, provider):
    server = make_server(env={"ATIENDE_PUBLIC_URL": PUBLIC})
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "SMS", "channel": "twilio",
        "settings": {"account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+15550001111", "api_base": provider.base},
        "secrets": {"auth_token": "12345-twilio-auth-token"}})
    assert status == 201, inbox
    path = f"/webhooks/twilio/{inbox['id'].lower()}"
    assert inbox["inbound_url"] == PUBLIC + path
    assert inbox["settings"]["status_callback"] == PUBLIC + path
    validator = twilio_validator.RequestValidator("12345-twilio-auth-token")

    def post(params, signed=None):
        signature = validator.compute_signature(PUBLIC + path, signed or params)
        return http("POST", server.base + path, raw=urllib.parse.urlencode(params).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})

    params = {"MessageSid": "SM11111111111111111111111111111111", "AccountSid": "AC0123456789abcdef0123456789abcdef",
              "From": "+56911112222", "To": "+15550001111", "Body": "Hola, ¿abren el domingo?", "NumMedia": "1",
              "MediaUrl0": provider.base + "/files/foto", "MediaContentType0": "image/png", "SmsStatus": "received"}
    # A changed parameter under the original signature is refused, and nothing is stored.
    changed = dict(params, Body="Transfiere todo a esta cuenta")
    status, body = post(changed, signed=params)
    assert status == 401, body
    status, body = post(params)
    assert status == 200 and b"<Response>" in body
    assert post(params)[0] == 200  # Twilio's retry of the same message
    [message] = messages(server, workspace, token, 1)
    assert message["text"] == "Hola, ¿abren el domingo?" and message["attachments"][0]["content_type"] == "image/png"
    assert provider.find("/files/foto")[0]["headers"]["authorization"].startswith("Basic ")

    # The agent answers: Twilio's Messages API gets it, with the status callback.
    status, _ = server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token, {"text": "Sí, de 10 a 14."})
    assert status == 201
    sent = until(lambda: provider.find("/Messages.json"), message="the Twilio send")[0]
    form = StandIn.form(sent)
    assert form["To"] == "+56911112222" and form["From"] == "+15550001111" and form["Body"] == "Sí, de 10 a 14."
    assert form["StatusCallback"] == PUBLIC + path
    outgoing = until(lambda: [m for m in messages(server, workspace, token, 1) if m["kind"] == "outgoing" and m["delivery_status"] == "sent"])[0]
    # Twilio reports it delivered, signed like any callback.
    status, _ = post({"MessageSid": outgoing["provider_message_id"], "MessageStatus": "delivered", "AccountSid": "AC0123456789abcdef0123456789abcdef"})
    assert status == 200
    assert [m for m in messages(server, workspace, token, 1) if m["kind"] == "outgoing"][0]["delivery_status"] == "delivered"

    # An invalid number: failed, with Twilio's reason, not retried.
    provider.queue("/Messages.json", 400, {"code": 21211, "message": "The 'To' number +56911112222 is not a valid phone number.",
                                           "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
    server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token, {"text": "¿Sigue ahí?"})
    failed = until(lambda: [m for m in messages(server, workspace, token, 1) if m["delivery_status"] == "failed"], message="the failure")[0]
    assert "21211" in failed["delivery_error"] and "not a valid phone number" in failed["delivery_error"]


def test_telegram_updates_built_by_python_telegram_bot(make_server, backend, provider):
    server = make_server(env={"ATIENDE_PUBLIC_URL": PUBLIC})
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "Telegram", "channel": "telegram", "settings": {"api_base": provider.base}, "secrets": {"bot_token": "777:AAE-bot-token"}})
    assert status == 201, inbox
    path = f"/webhooks/telegram/{inbox['id'].lower()}"
    # Connecting: the credentials check also sets the webhook with its secret token.
    status, check = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}/check", token)
    assert status == 200 and "@tienda_bot" in check["detail"], check
    hook = json.loads(provider.find("/bot777:AAE-bot-token/setWebhook")[0]["body"])
    assert hook["url"] == PUBLIC + path
    secret = hook["secret_token"]

    rosa = telegram.User(id=4242, first_name="Rosa", last_name="Díaz", is_bot=False)
    chat = telegram.Chat(id=4242, type=telegram.Chat.PRIVATE)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def post(update, secret_token=secret):
        headers = {"Content-Type": "application/json"}
        if secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        return http("POST", server.base + path, raw=update.to_json().encode(), headers=headers)

    first = telegram.Update(update_id=9001, message=telegram.Message(message_id=1, date=now, chat=chat, from_user=rosa, text="Hola, mi pedido no llegó"))
    assert post(first, secret_token=None)[0] == 401
    assert post(first, secret_token="guessed")[0] == 401
    assert post(first)[0] == 200
    assert post(first)[0] == 200  # Telegram redelivers: update_id is the key, nothing twice
    photo = telegram.Update(update_id=9002, message=telegram.Message(
        message_id=2, date=now, chat=chat, from_user=rosa, caption="La caja llegó así",
        photo=[telegram.PhotoSize("small-id", "s", 90, 90), telegram.PhotoSize("large-id", "l", 1280, 960)]))
    assert post(photo)[0] == 200
    edited = telegram.Update(update_id=9003, edited_message=telegram.Message(
        message_id=1, date=now, edit_date=now, chat=chat, from_user=rosa, text="Hola, mi pedido 5521 no llegó"))
    assert post(edited)[0] == 200
    found = messages(server, workspace, token, 1)
    assert [m["text"] for m in found] == ["Hola, mi pedido no llegó", "La caja llegó así", "✏️ Hola, mi pedido 5521 no llegó"]
    assert found[1]["attachments"][0]["filename"] == "photo.jpg"
    assert json.loads(provider.find("/getFile")[0]["body"])["file_id"] == "large-id"
    status, contacts = server.api("GET", f"/api/v1/workspaces/{workspace}/contacts", token)
    assert [c["name"] for c in contacts["data"]] == ["Rosa Díaz"]

    # The agent's answer, after Telegram's own 429 with retry_after.
    provider.queue("/sendMessage", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                         "parameters": {"retry_after": 1}})
    server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token, {"text": "Lo revisamos ahora mismo."})
    sends = until(lambda: len(provider.find("/sendMessage")) >= 2 and provider.find("/sendMessage"), seconds=20, message="the retried send")
    assert sends[1]["at"] - sends[0]["at"] >= 0.9, "Telegram's retry_after is respected"
    body = json.loads(sends[1]["body"])
    assert body["chat_id"] == "4242" and body["text"] == "Lo revisamos ahora mismo."
    until(lambda: [m for m in messages(server, workspace, token, 1) if m["kind"] == "outgoing" and m["delivery_status"] == "sent"])

    # A blocked bot: failed with Telegram's words.
    provider.queue("/sendMessage", 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token, {"text": "¿Hola?"})
    failed = until(lambda: [m for m in messages(server, workspace, token, 1) if m["delivery_status"] == "failed"], message="the failure")[0]
    assert "bot was blocked by the user" in failed["delivery_error"]


def test_admin_connects_whatsapp_in_the_browser(make_server, backend, provider):
    """An admin connects WhatsApp from the inboxes page in Chromium, sees what to paste into Meta's console, and checks it."""
    agent_ui = pytest.importorskip("test_agent_ui")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select

    server = make_server(env={"ATIENDE_PUBLIC_URL": PUBLIC})
    token, workspace = server.setup_workspace()
    server.start()
    browser = agent_ui.make_browser()
    try:
        agent_ui.sign_in(browser, server)
        browser.get(server.base + "/app/tienda/settings/inboxes")
        form = browser.find_element(By.CSS_SELECTOR, "form[data-then=secret]")
        form.find_element(By.NAME, "name").send_keys("WhatsApp ventas")
        Select(form.find_element(By.NAME, "channel")).select_by_value("whatsapp")
        # Only the chosen channel's fields are shown (and sent).
        assert not form.find_element(By.NAME, "secrets.bot_token").is_displayed()
        form.find_element(By.NAME, "settings.phone_number_id").send_keys("1234")
        form.find_element(By.NAME, "secrets.access_token").send_keys("EAAG-token")
        form.find_element(By.NAME, "secrets.app_secret").send_keys("app-secret")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        agent_ui.wait(browser, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "code.webhook-url")))
        status, inboxes = server.api("GET", f"/api/v1/workspaces/{workspace}/inboxes", token)
        [inbox] = [i for i in inboxes if i["channel"] == "whatsapp"]
        assert browser.find_element(By.CSS_SELECTOR, "code.webhook-url").text == f"{PUBLIC}/webhooks/whatsapp/{inbox['id'].lower()}"
        assert browser.find_element(By.CSS_SELECTOR, "code.verify-token").text == inbox["settings"]["verify_token"]
        # The check reaches the provider with the stored credentials (the API base is set through the API here).
        settings = dict(inbox["settings"], api_base=provider.base)
        assert server.api("PATCH", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}", token, {"settings": settings})[0] == 200
        browser.refresh()
        browser.find_element(By.CSS_SELECTOR, "form[data-then=detail] button").click()
        agent_ui.wait(browser, 5).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".form-result"), "Tienda Sur"))
        assert provider.find("/v21.0/1234")[0]["headers"]["authorization"] == "Bearer EAAG-token"
        agent_ui.shot(browser, "connect-whatsapp-es", backend)
    finally:
        browser.quit()


def test_telegram_survey_answered_by_an_inline_button(make_server, backend, provider):
    """The inbox's NPS goes out with an inline keyboard; the customer's tap arrives as the CallbackQuery that
    python-telegram-bot builds, and answers the survey without reopening the conversation."""
    server = make_server(env={"ATIENDE_PUBLIC_URL": PUBLIC})
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "Telegram", "channel": "telegram", "settings": {"api_base": provider.base}, "secrets": {"bot_token": "777:AAE-bot-token"}})
    assert status == 201, inbox
    path = f"/webhooks/telegram/{inbox['id'].lower()}"
    status, check = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}/check", token)
    hook = json.loads(provider.find("/bot777:AAE-bot-token/setWebhook")[0]["body"])
    assert "callback_query" in hook["allowed_updates"], hook
    secret = hook["secret_token"]
    status, _ = server.api("PUT", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}/survey", token, {"kind": "nps"})
    assert status == 200

    rosa = telegram.User(id=4242, first_name="Rosa", last_name="Díaz", is_bot=False)
    chat = telegram.Chat(id=4242, type=telegram.Chat.PRIVATE)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def post(update):
        return http("POST", server.base + path, raw=update.to_json().encode(),
                    headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})

    assert post(telegram.Update(update_id=9101, message=telegram.Message(message_id=1, date=now, chat=chat, from_user=rosa, text="¿Abren mañana?")))[0] == 200
    server.api("PATCH", f"/api/v1/workspaces/{workspace}/conversations/1", token, {"status": "resolved"})
    asked = until(lambda: [c for c in provider.find("/sendMessage") if "reply_markup" in json.loads(c["body"])], message="the survey")[0]
    body = json.loads(asked["body"])
    keyboard = body["reply_markup"]["inline_keyboard"]
    assert [len(row) for row in keyboard] == [6, 5] and keyboard[1][-1]["callback_data"] == "survey:10"
    assert "¿Qué probabilidad hay de que nos recomiendes" in body["text"]

    # python-telegram-bot's own objects: the message with its keyboard, and the tap on "9".
    markup = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row] for row in keyboard])
    shown = telegram.Message(message_id=2, date=now, chat=chat, text=body["text"], reply_markup=markup)
    tap = telegram.Update(update_id=9102, callback_query=telegram.CallbackQuery(
        id="4382bfdwdsb323b2d9", from_user=rosa, chat_instance="ci-1", data="survey:9", message=shown))
    assert post(tap)[0] == 200
    status, surveys = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/surveys", token)
    assert surveys[0]["score"] == 9 and surveys[0]["status"] == "answered", surveys
    status, conversation = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1", token)
    assert conversation["status"] == "resolved", "an answer does not reopen the conversation"
