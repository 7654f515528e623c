"""Surveys and reports in real Chromium, against the built binary: an admin turns CSAT on for a live chat inbox in
its settings, a chat is answered and resolved in the agent workspace, the visitor rates it in the widget, and the
supervisor sees the answer in the conversation and in the reports page, whose CSV is its table."""
import csv
import io
import time
import urllib.request

from test_agent_ui import browser, live, make_browser, shot, sign_in, wait  # noqa: F401 (browser is a fixture)
from test_widget import in_widget, open_chat, say, shop, until, widget, widget_text  # noqa: F401 (shop is a fixture)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def fetch(driver, url):
    """A GET with the browser's own session cookie, as a click on a download link makes it."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def test_widget_rating_reaches_reports(make_server, backend, browser, shop):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {"name": "Chat Tienda", "channel": "webchat"})
    assert status == 201, inbox
    shop.update(server=server.base, inbox=inbox["id"])

    # The admin turns the survey on in the inbox's settings.
    sign_in(browser, server)
    browser.get(server.base + "/app/tienda/settings/inboxes")
    panel = browser.find_element(By.CSS_SELECTOR, "details.edit-survey")
    panel.find_element(By.TAG_NAME, "summary").click()
    Select(panel.find_element(By.NAME, "kind")).select_by_value("csat")
    panel.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, 5).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "details.edit-survey summary"), "CSAT"))
    status, policy = server.api("GET", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}/survey", token)
    assert policy["kind"] == "csat" and policy["trigger"] == "resolved", policy

    visitor = make_browser()
    try:
        open_chat(visitor, shop)
        say(visitor, "Hola, mi pedido no llega")
        # The message is stored before the agent opens its conversation (the widget sends it in the background).
        until(lambda: server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1", token)[0] == 200, seconds=15,
              message="the visitor's conversation")
        browser.get(server.base + "/app/tienda/conversations/1")
        live(browser)
        wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "mi pedido no llega"))
        browser.find_element(By.ID, "claim").click()
        wait(browser, 5).until(EC.invisibility_of_element_located((By.ID, "claim")))
        browser.find_element(By.ID, "reply-text").send_keys("Ya va en camino, llega mañana")
        browser.find_element(By.CSS_SELECTOR, "#composer button[type=submit]").click()
        until(lambda: "llega mañana" in widget_text(visitor, ".msg.team"), message="the reply")
        browser.find_element(By.XPATH, "//form[input[@name='status' and @value='resolved']]/button").click()
        wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "status-badge"), "Resuelta"))

        # The survey arrives in the chat as buttons; the visitor picks 2 and adds a comment.
        in_widget(visitor, ".survey .scale button", seconds=15)
        assert "¿Cómo calificarías la atención" in widget_text(visitor, ".msg.team")
        assert [b.text for b in widget(visitor).find_elements(By.CSS_SELECTOR, ".survey .scale button")] == ["1", "2", "3", "4", "5"]
        widget(visitor).find_element(By.CSS_SELECTOR, ".survey .scale button[data-score='2']").click()
        until(lambda: "respondiste 2" in widget_text(visitor, ".survey-status"), message="the answer saved")
        box = in_widget(visitor, ".survey-comment textarea")[0]
        box.send_keys("Tardaron mucho en responder")
        widget(visitor).find_element(By.CSS_SELECTOR, ".survey-comment button").click()
        until(lambda: "Gracias por tu comentario" in widget_text(visitor, ".survey-status"), message="the comment saved")
        shot(visitor, "survey-widget-es", backend)
        # A reload keeps the answer chosen.
        visitor.refresh()
        in_widget(visitor, ".launcher")[0].click()
        until(lambda: widget_text(visitor, ".survey .scale button.chosen") == "2", message="the answer after a reload")
    finally:
        visitor.quit()

    # The supervisor (the admin here) sees the answer on the conversation, and a follow-up to win the customer back.
    status, surveys = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/surveys", token)
    assert surveys[0]["score"] == 2 and surveys[0]["comment"] == "Tardaron mucho en responder", surveys
    status, follow_ups = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/follow-ups", token)
    assert any(f["kind"] == "reminder" and f["text"].startswith("CSAT 2/5") for f in follow_ups), follow_ups
    browser.get(server.base + "/app/tienda/conversations/1")
    wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "surveys"), "2/5"))
    assert "Tardaron mucho en responder" in browser.find_element(By.ID, "surveys").text
    assert "El cliente respondió 2/5" in browser.find_element(By.ID, "timeline").text

    # The detractor is on the at-risk list, with why.
    browser.get(server.base + "/app/tienda/at-risk")
    wait(browser, 5).until(EC.presence_of_element_located((By.ID, "at-risk-list")))
    listed = browser.find_element(By.ID, "at-risk-list").text
    assert "CSAT bajo" in listed and "CSAT 2" in listed, listed
    # The supervisor reads the conversation for a few seconds: that is handle time too.
    browser.get(server.base + "/app/tienda/conversations/1")
    live(browser)
    time.sleep(3)
    browser.find_element(By.ID, "timeline").click()

    # The reports page: the figures, a chart over its table, and a CSV that is the table.
    browser.find_element(By.LINK_TEXT, "Informes").click()
    wait(browser, 5).until(EC.presence_of_element_located((By.ID, "table-overview")))
    Select(browser.find_element(By.NAME, "period")).select_by_value("today")
    browser.find_element(By.CSS_SELECTOR, ".report-filters button[type=submit]").click()
    wait(browser, 5).until(EC.url_contains("period=today"))
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in browser.find_elements(By.CSS_SELECTOR, "#table-overview tbody tr")]
    figures = {row[0]: row[1] for row in rows}
    assert figures["Creadas"] == "1" and figures["Resueltas"] == "1" and figures["CSAT %"] == "0,0", figures
    assert "Tardaron mucho en responder" in browser.find_element(By.ID, "table-comments").text
    assert browser.find_elements(By.CSS_SELECTOR, "#report-volume svg.chart rect")
    shot(browser, "reports-es", backend)
    link = browser.find_element(By.CSS_SELECTOR, "#report-overview a.csv").get_attribute("href")
    status, kind, text = fetch(browser, link)
    assert status == 200 and kind.startswith("text/csv"), kind
    assert list(csv.reader(io.StringIO(text)))[1:] == rows

    # The agent's time on the conversation page (open, visible, used) is the handle time; the export with a row per
    # conversation adds up to the overview.
    assert figures["Tiempo de gestión (trabajo de agentes)"] not in ("—", "0 s"), figures
    # The last stretch ended with the click on the reports link, and is recorded as it ends.
    handle = lambda: server.api("GET", f"/api/v1/workspaces/{workspace}/reports/overview?period=today", token)[1]["figures"]["handle"]
    until(lambda: handle()["total"] >= 3.5, seconds=5, message="the supervisor's seconds on the conversation")
    overview = {"figures": {"handle": handle()}}
    link = browser.find_element(By.CSS_SELECTOR, "#report-conversations a.csv").get_attribute("href")
    status, kind, text = fetch(browser, link)
    table = list(csv.reader(io.StringIO(text)))
    header, lines = table[0], table[1:]
    assert [line[header.index("Número")] for line in lines] == ["1"], table
    for column, figure in [("Creadas", "Creadas"), ("Resueltas", "Resueltas"), ("Respuestas CSAT", "Respuestas CSAT")]:
        assert sum(int(line[header.index(column)]) for line in lines) == int(figures[figure]), (column, table)
    handled = float(lines[0][header.index("Tiempo de gestión (s)")].replace(",", "."))
    assert abs(handled - overview["figures"]["handle"]["total"]) < 0.01, (handled, overview["figures"]["handle"])
    assert lines[0][header.index("Notas CSAT")] == "2" and lines[0][header.index("Estado")] == "Resuelta", lines

    # In English, at phone width, the page still reads.
    browser.set_window_size(390, 844)
    try:
        browser.get(server.base + "/account")
        Select(browser.find_element(By.NAME, "language")).select_by_value("en")
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait(browser, 5).until(EC.url_contains("saved=1"))
        browser.get(server.base + "/app/tienda/reports?period=today")
        wait(browser, 5).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Reports"))
        assert "First response (median)" in browser.find_element(By.ID, "table-overview").text
        shot(browser, "reports-en-phone", backend)
    finally:
        browser.set_window_size(1280, 900)


def test_compensation_above_the_limit_waits_for_approval(make_server, backend, browser):
    """An agent compensates a customer above their limit from the conversation: it waits; the supervisor approves it from
    the same conversation; only then the customer is told, and it is recorded in the customer's history."""
    from test_agent_ui import accept_invitation
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    inbox = server.create_api_inbox(token, workspace)
    server.post_inbound(inbox, {"message_id": "k-1", "from": {"id": "c-1", "name": "Lucía"}, "text": "Llegó roto, es inaceptable"})
    status, invited = server.api("POST", f"/api/v1/workspaces/{workspace}/users", token, {"email": "diego@example.com", "role": "agent"})
    assert status == 201
    agent = make_browser()
    try:
        accept_invitation(agent, invited["invitation_url"], "Diego", "otra clave larga")
        agent.get(server.base + "/app/tienda/conversations/1")
        panel = agent.find_element(By.ID, "compensate")
        panel.find_element(By.TAG_NAME, "summary").click()
        # Diego reads the desk in English (his browser's language when he joined).
        assert "up to 200 USD at a time" in panel.text
        Select(panel.find_element(By.NAME, "kind")).select_by_value("refund")
        panel.find_element(By.NAME, "amount").send_keys("250")
        panel.find_element(By.NAME, "reason").send_keys("Producto dañado en el envío")
        panel.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(agent, 5).until(EC.text_to_be_present_in_element((By.ID, "compensations"), "waiting for approval"))
        assert "Refund 250 USD" in agent.find_element(By.ID, "compensations").text
        assert not agent.find_elements(By.CSS_SELECTOR, "#compensations form[data-api$='/approve']"), "nobody approves their own request"
        shot(agent, "compensation-pending-en", backend)
    finally:
        agent.quit()
    status, messages = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    assert not any(m["kind"] == "outgoing" for m in messages["data"]), "the customer is not told before approval"

    # The supervisor (the admin) gets a notification and approves from the conversation.
    sign_in(browser, server)
    browser.get(server.base + "/app/tienda/notifications")
    assert "pide aprobar una compensación en #1" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(server.base + "/app/tienda/conversations/1")
    browser.find_element(By.CSS_SELECTOR, "#compensations form[data-api$='/approve'] button").click()
    wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "compensations"), "aprobada por admin"))
    wait(browser, 5).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Te otorgamos un reembolso de 250 USD"))
    assert "Reembolso 250 USD" in browser.find_element(By.ID, "customer").text, "in the customer's history"
    # The angry first message put the customer on the at-risk list; the supervisor records what was done.
    browser.find_element(By.LINK_TEXT, "Clientes en riesgo").click()
    wait(browser, 5).until(EC.presence_of_element_located((By.ID, "at-risk-list")))
    row = browser.find_element(By.CSS_SELECTOR, "#at-risk-list tbody tr")
    assert "Suena enojado" in row.text and "inaceptable" in row.text, row.text
    Select(row.find_element(By.NAME, "action")).select_by_value("compensated")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, 5).until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "Nadie en riesgo"))
    browser.get(server.base + "/app/tienda/at-risk?status=handled")
    assert "Se le compensó" in browser.find_element(By.ID, "at-risk-list").text
    shot(browser, "at-risk-es", backend)
