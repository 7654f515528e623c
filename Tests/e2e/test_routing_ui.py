"""Routing and macros in Chromium: an agent's status, changed in the top bar, shows live on the supervisor's
availability board; a macro written on its page runs from the inbox's bulk bar on every picked conversation."""
from test_agent_ui import accept_invitation, browser, live, make_browser, shot, sign_in, wait  # noqa: F401
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def board_status(driver, name):
    for row in driver.find_elements(By.CSS_SELECTOR, "#team-board tbody tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        if name in cells[0].text:
            return cells[1].text
    return None


def test_status_change_shows_live_on_the_board(make_server, backend, browser):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    status, invited = server.api("POST", f"/api/v1/workspaces/{workspace}/users", token, {"email": "diego@example.com", "role": "agent"})
    agent = make_browser()
    try:
        accept_invitation(agent, invited["invitation_url"], "Diego", "otra clave larga")
        live(agent)
        sign_in(browser, server)
        browser.find_element(By.LINK_TEXT, "Disponibilidad del equipo").click()
        wait(browser).until(lambda d: board_status(d, "Diego") and "En línea" in board_status(d, "Diego"))
        live(browser)
        Select(agent.find_element(By.ID, "my-status")).select_by_value("busy")
        wait(agent).until(lambda d: "busy" in d.find_element(By.ID, "my-status-dot").get_attribute("class"))
        wait(browser, 8).until(lambda d: "Ocupado" in (board_status(d, "Diego") or ""))
        shot(browser, "availability-board", backend)
        # The agent's choice is kept: the next page shows it selected.
        agent.refresh()
        assert Select(agent.find_element(By.ID, "my-status")).first_selected_option.get_attribute("value") == "busy"
    finally:
        agent.quit()


def test_macro_from_the_bulk_bar_applies_to_every_picked_conversation(make_server, backend, browser):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    inbox = server.create_api_inbox(token, workspace)
    for i in (1, 2, 3):
        server.post_inbound(inbox, {"message_id": f"b-{i}", "from": {"id": f"c-{i}", "name": f"Cliente {i}"}, "text": f"Consulta {i}"})
    sign_in(browser, server)
    browser.find_element(By.LINK_TEXT, "Macros").click()
    form = browser.find_element(By.CSS_SELECTOR, ".macros form.stack")
    form.find_element(By.NAME, "name").send_keys("Cerrar como resuelta")
    form.find_element(By.NAME, "actions.add_labels").send_keys("cerrado")
    Select(form.find_element(By.NAME, "actions.status")).select_by_value("resolved")
    Select(form.find_element(By.NAME, "actions.assignee")).select_by_value("me")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".macros table"), "Cerrar como resuelta"))
    assert "+#cerrado" in browser.find_element(By.CSS_SELECTOR, ".macros table").text

    browser.get(server.base + "/app/tienda/inbox")
    for number in ("1", "3"):
        browser.find_element(By.CSS_SELECTOR, f'.row[data-number="{number}"] .pick').click()
    Select(browser.find_element(By.ID, "bulk-macro")).select_by_visible_text("Cerrar como resuelta")
    # It may write to several customers: it asks first.
    alert = wait(browser).until(EC.alert_is_present())
    assert "2 conversaciones" in alert.text
    alert.accept()
    wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "toasts"), "2"))
    conversations = {c["number"]: c for c in server.api("GET", f"/api/v1/workspaces/{workspace}/conversations?status=open,resolved", token)[1]["data"]}
    assert [conversations[n]["status"] for n in (1, 2, 3)] == ["resolved", "open", "resolved"]
    assert conversations[1]["labels"] == ["cerrado"] and conversations[2]["labels"] == []
    status, me = server.api("GET", "/api/v1/me", token)
    assert conversations[3]["assignee_id"].lower() == me["id"].lower()
    # The macro also runs from a conversation: its line says so.
    browser.get(server.base + "/app/tienda/conversations/2")
    browser.find_element(By.CSS_SELECTOR, "#macros-run summary").click()
    browser.find_element(By.XPATH, "//details[@id='macros-run']//button[text()='Cerrar como resuelta']").click()
    wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "aplicó la macro «Cerrar como resuelta»"))


def test_rule_written_on_its_page_is_previewed_then_runs(make_server, backend, browser):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    inbox = server.create_api_inbox(token, workspace)
    server.post_inbound(inbox, {"message_id": "r-1", "from": {"id": "c-1", "name": "Ana"}, "text": "Es URGENTE, el pedido no llegó"})
    server.post_inbound(inbox, {"message_id": "r-2", "from": {"id": "c-2", "name": "Luis"}, "text": "Consulta de horario"})
    sign_in(browser, server)
    browser.find_element(By.LINK_TEXT, "Reglas de automatización").click()
    form = browser.find_element(By.CSS_SELECTOR, "form.rule-form")
    form.find_element(By.NAME, "name").send_keys("Urgentes arriba")
    Select(form.find_element(By.NAME, "trigger")).select_by_value("message_received")
    condition = form.find_elements(By.CSS_SELECTOR, "[data-rows='conditions.conditions'] [data-row]")[0]
    Select(condition.find_element(By.NAME, "field")).select_by_value("text")
    Select(condition.find_element(By.NAME, "op")).select_by_value("contains")
    condition.find_element(By.NAME, "value").send_keys("urgente")
    action = form.find_elements(By.CSS_SELECTOR, "[data-rows='actions'] [data-row]")[0]
    Select(action.find_element(By.NAME, "type")).select_by_value("set_priority")
    action.find_element(By.NAME, "value").send_keys("urgent")
    form.find_element(By.CSS_SELECTOR, "[data-preview]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".preview-result"), "1 conversaciones de los últimos 7 días: #1"))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".settings table"), "Urgentes arriba"))
    server.post_inbound(inbox, {"message_id": "r-3", "from": {"id": "c-2", "name": "Luis"}, "text": "¡Ahora es urgente!"})
    status, conversation = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/2", token)
    assert conversation["priority"] == "urgent", conversation
    assert server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1", token)[1]["priority"] == "none"
    browser.get(server.base + "/app/tienda/conversations/2")
    assert "Se aplicó la regla «Urgentes arriba»" in browser.find_element(By.ID, "timeline").text

    # Edited on its page: the form comes filled in; what is changed replaces the rule, and the list shows it.
    browser.get(server.base + "/app/tienda/settings/rules")
    rule_row = [r for r in browser.find_elements(By.CSS_SELECTOR, ".settings table tbody tr") if "Urgentes arriba" in r.text][0]
    rule_row.find_element(By.LINK_TEXT, "Editar").click()
    form = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "form.rule-form[data-method=PATCH]")))
    assert "Editar la regla «Urgentes arriba»" in browser.find_element(By.ID, "rule-form").text
    assert Select(form.find_element(By.NAME, "trigger")).first_selected_option.get_attribute("value") == "message_received"
    condition = form.find_elements(By.CSS_SELECTOR, "[data-rows='conditions.conditions'] [data-row]")[0]
    assert condition.find_element(By.NAME, "value").get_attribute("value") == "urgente"
    assert Select(condition.find_element(By.NAME, "op")).first_selected_option.get_attribute("value") == "contains"
    name = form.find_element(By.NAME, "name")
    name.clear()
    name.send_keys("Urgentes y etiquetados")
    second = form.find_elements(By.CSS_SELECTOR, "[data-rows='actions'] [data-row]")[1]
    Select(second.find_element(By.NAME, "type")).select_by_value("add_label")
    second.find_element(By.NAME, "value").send_keys("urgente")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".settings table"), "Urgentes y etiquetados"))
    assert "Crear regla" in browser.find_element(By.ID, "rule-form").text, "back to the list, with the empty form"
    status, rules = server.api("GET", f"/api/v1/workspaces/{workspace}/automation-rules", token)
    edited = [r for r in rules if r["name"] == "Urgentes y etiquetados"][0]
    assert [a["type"] for a in edited["actions"]] == ["set_priority", "add_label"], edited
    assert edited["conditions"]["conditions"][0]["value"] == "urgente", edited

    # On a phone the table stacks its cells: each says which column it is.
    browser.set_window_size(400, 900)
    try:
        browser.get(server.base + "/app/tienda/settings/rules")
        cell = browser.find_elements(By.CSS_SELECTOR, ".settings table tbody tr td")[1]
        shown = browser.execute_script("return getComputedStyle(arguments[0], '::before').content", cell)
        assert shown == '"Nombre"', shown
    finally:
        browser.set_window_size(1366, 900)


def test_times_are_read_on_the_agents_own_clock(make_server, backend, browser):
    """An agent whose account is in Tokyo, at a browser on another clock: 'tomorrow at 9:00' and a typed time mean 9:00
    and that time in Tokyo, as the pages show them."""
    import datetime
    import re
    server = make_server()
    out = server.command("setup", "--workspace", "Tienda", "--email", "admin@example.com", "--password", "secreto-largo-1",
                         "--time-zone", "Asia/Tokyo")
    workspace = re.search(r"\(id ([0-9a-f-]{36})\)", out).group(1)
    token = server.command("token", "create", "--email", "admin@example.com").strip().splitlines()[-1]
    server.start()
    inbox = server.create_api_inbox(token, workspace)
    server.post_inbound(inbox, {"message_id": "tz-1", "from": {"id": "c-1", "name": "Ana"}, "text": "Hola"})
    sign_in(browser, server)
    assert browser.execute_script("return new Date('2026-12-02T00:00:00Z').getTimezoneOffset()") != -540, "the browser must not be on Tokyo's clock"
    browser.get(server.base + "/app/tienda/conversations/1")
    live(browser)
    browser.find_element(By.CSS_SELECTOR, "#remind-me summary").click()
    browser.find_element(By.CSS_SELECTOR, '#remind-me [data-snooze="tomorrow"]').click()
    browser.find_element(By.CSS_SELECTOR, "#remind-me button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#follow-ups .pending li")))
    status, items = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/follow-ups", token)
    items = items["data"] if isinstance(items, dict) else items
    due = datetime.datetime.fromisoformat(items[0]["due_at"].replace("Z", "+00:00")).astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    tomorrow = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9))).date() + datetime.timedelta(days=1)
    assert (due.date(), due.hour, due.minute) == (tomorrow, 9, 0), items
    assert "9:00" in browser.find_element(By.CSS_SELECTOR, "#follow-ups .pending li").text

    # A time typed into 'snooze until' is Tokyo's too.
    field = browser.find_element(By.ID, "snooze-until")
    browser.execute_script("arguments[0].value = '2027-01-15T10:30'", field)
    field.find_element(By.XPATH, "./ancestor::form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "status-badge"), "Pospuesta"))
    status, conversation = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1", token)
    assert conversation["snoozed_until"].startswith("2027-01-15T01:30:00"), conversation
