"""Canned responses in Chromium: written on their page, inserted from the reply box with "/" and a few letters (keyboard
only), filled in for the conversation for the agent to review; a variable without a value is pointed out, selected to be
typed over, and refused if sent as it is."""
from test_agent_ui import browser, shot, sign_in, wait  # noqa: F401 (browser is a fixture; skips without Chromium)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402


def create_response(browser, shortcut, title, text):
    form = browser.find_elements(By.CSS_SELECTOR, ".canned form.stack")[-1]
    form.find_element(By.NAME, "shortcut").send_keys(shortcut)
    form.find_element(By.NAME, "title").send_keys(title)
    form.find_element(By.NAME, "variants.es").send_keys(text)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.XPATH, f"//td/code[text()='/{shortcut}']")))


def test_slash_inserts_a_filled_canned_response_for_review(make_server, backend, browser):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    inbox = server.create_api_inbox(token, workspace)
    server.post_inbound(inbox, {"message_id": "c-1", "from": {"id": "c-1", "name": "Lucía Pérez"}, "text": "¿Cuándo llega mi pedido?"})

    sign_in(browser, server)
    browser.find_element(By.LINK_TEXT, "Respuestas rápidas").click()
    create_response(browser, "envio", "Estado del envío", "Hola {{contact.first_name}}, tu pedido sale hoy (solicitud #{{conversation.number}}).")
    create_response(browser, "plan", "Plan contratado", "Tu plan es {{contact.plan}}.")
    rows = browser.find_element(By.CSS_SELECTOR, ".canned table").text
    assert "Todo el equipo" in rows, rows

    browser.get(server.base + "/app/tienda/conversations/1")
    box = browser.find_element(By.ID, "reply-text")
    box.click()
    box.send_keys("/estd")  # a few letters of the title, in order
    options = wait(browser).until(lambda d: [o.text for o in d.find_elements(By.CSS_SELECTOR, "#mentions li") if o.is_displayed()])
    assert options == ["/envio · Estado del envío"], options
    box.send_keys(Keys.ENTER)
    wait(browser).until(lambda d: d.find_element(By.ID, "reply-text").get_attribute("value") == "Hola Lucía, tu pedido sale hoy (solicitud #1).")
    assert not browser.find_element(By.ID, "mentions").is_displayed()
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Hola Lucía, tu pedido sale hoy"))

    # A variable without a value: pointed out, selected, refused as it is, sent once typed over.
    box = browser.find_element(By.ID, "reply-text")
    box.send_keys("/pla")
    wait(browser).until(lambda d: d.find_element(By.ID, "mentions").is_displayed())
    box.send_keys(Keys.TAB)
    gaps = wait(browser).until(EC.visibility_of_element_located((By.ID, "canned-gaps")))
    assert gaps.text == "Completa antes de enviar: {{contact.plan}}", gaps.text
    selected = browser.execute_script("const b = document.getElementById('reply-text'); return b.value.slice(b.selectionStart, b.selectionEnd)")
    assert selected == "{{contact.plan}}"
    shot(browser, "canned-gap", backend)
    browser.find_element(By.ID, "composer-send").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#composer .form-error"), "{{contact.plan}} no tiene valor"))
    # Refused, the gap is selected again: typing replaces it.
    wait(browser).until(lambda d: d.execute_script("const b = document.getElementById('reply-text'); return document.activeElement === b && b.value.slice(b.selectionStart, b.selectionEnd) === '{{contact.plan}}'"))
    box.send_keys("Premium")
    wait(browser).until(EC.invisibility_of_element_located((By.ID, "canned-gaps")))
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Tu plan es Premium."))

    status, responses = server.api("GET", f"/api/v1/workspaces/{workspace}/canned-responses", token)
    assert {r["shortcut"]: r["use_count"] for r in responses} == {"envio": 1, "plan": 1}, responses
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    assert not [m for m in page["data"] if "{{" in m["text"]], "no variable ever reached the customer"
