// Atiende agent workspace: live updates over the workspace event stream, forms sent to API v1 with the
// session's CSRF token, presence, notifications and keyboard shortcuts. Plain ES module, no dependencies.

const body = document.body;
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
const strings = JSON.parse(document.getElementById('strings')?.dataset.json || '{}');
const t = (key, ...args) => (strings[key] || key).replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
const workspaceId = body.dataset.workspaceId;
const me = body.dataset.userId;
// Ids in event payloads are upper-case UUIDs, the page's lower-case.
const isMe = (id) => typeof id === 'string' && id.toLowerCase() === me;
const conversationNumber = Number(document.querySelector('.conversation')?.dataset.number || 0);

// ---------------------------------------------------------------------------------------------- API

async function api(method, url, payload) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf, 'X-Atiende-UI': '1' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new Error(data?.error?.message || `${t('common.error')} (${response.status})`);
  return data;
}

function conversationURL(number) {
  return `/api/v1/workspaces/${workspaceId}/conversations/${number}`;
}

// ------------------------------------------------------------------------------------------ toasts

function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = document.createElement('div');
  item.className = `toast ${kind}`;
  item.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  item.textContent = text;
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();  // the latest few, not a pile
  setTimeout(() => item.remove(), 6000);
}

function notify(text, url) {
  toast(text);
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
    const note = new Notification('Atiende', { body: text });
    note.onclick = () => { window.focus(); if (url) location.href = url; };
  }
}

// ---------------------------------------------------------------------------- forms through the API

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({
      filename: file.name,
      content_type: file.type || 'application/octet-stream',
      data: String(reader.result).split(',')[1] || '',
    });
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function formPayload(form) {
  const payload = {};
  for (const el of form.elements) {
    if (!el.name || el.name === '_csrf' || el.matches(':disabled') || el.closest('[data-rows]')) continue;
    const type = el.dataset.type;
    const value = el.value;
    if (type === 'files') {
      if (el.files.length) payload[el.name] = await Promise.all([...el.files].map(readFile));
    } else if (type === 'bool') {
      payload[el.name] = el.checked;
    } else if (type === 'checklist') {
      payload[el.name] = payload[el.name] || [];
      if (el.checked) payload[el.name].push(value);
    } else if (type === 'bool-value') {
      payload[el.name] = value === 'true';
    } else if (type === 'list-omit-empty') {
      const items = value.split(',').map((s) => s.trim()).filter(Boolean);
      if (items.length) payload[el.name] = items;
    } else if (type === 'list') {
      payload[el.name] = value.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (type === 'list-add') {
      // What is typed joins the list already there (`data-current`).
      payload[el.name] = [...new Set([...(el.dataset.current || '').split(','), ...value.split(',')].map((s) => s.trim().toLowerCase()).filter(Boolean))];
    } else if (type === 'nullable') {
      payload[el.name] = value.trim() === '' ? null : value.trim();
    } else if (type === 'number-omit-empty') {
      if (value.trim() !== '') payload[el.name] = Number(value);
    } else if (type === 'omit-empty') {
      if (value.trim() !== '') payload[el.name] = value.trim();
    } else if (type === 'datetime') {
      payload[el.name] = value ? fromWallClock(Date.parse(value + 'Z')).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
    } else if (el.type === 'checkbox') {
      if (el.checked) payload[el.name] = value;
    } else {
      payload[el.name] = value;
    }
  }
  // Repeated rows (a rule's conditions and actions): a list of objects of their filled fields; a row whose first
  // field is left empty is left out.
  for (const set of form.querySelectorAll('[data-rows]')) {
    const rows = [];
    for (const row of set.querySelectorAll('[data-row]')) {
      const item = {};
      for (const el of row.querySelectorAll('[name]')) if (el.value.trim() !== '') item[el.name] = el.value.trim();
      const first = row.querySelector('[name]');
      if (first && item[first.name]) rows.push(item);
    }
    payload[set.dataset.rows] = rows;
  }
  // `settings.color` → { settings: { color } }, `actions.reply.text` → { actions: { reply: { text } } }
  for (const key of Object.keys(payload)) {
    const path = key.split('.');
    if (path.length < 2) continue;
    let at = payload;
    for (const part of path.slice(0, -1)) at = at[part] = at[part] || {};
    at[path[path.length - 1]] = payload[key];
    delete payload[key];
  }
  return payload;
}

// A secret is shown once: kept on screen until the admin says they copied it, then the page shows what was made.
function showSecret(data, form) {
  const box = document.getElementById('secret-box');
  const value = document.getElementById('secret-value');
  if (!box || !value || !data?.secret) { location.reload(); return; }
  form.reset();
  value.textContent = data.secret;
  box.hidden = false;
  box.scrollIntoView({ block: 'center' });
  document.getElementById('secret-done')?.focus();
}

document.getElementById('secret-done')?.addEventListener('click', () => location.reload());

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
  event.preventDefault();
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
  const error = form.querySelector('.form-error');
  if (error) error.textContent = '';
  const button = form.querySelector('[type=submit]');
  if (button) button.disabled = true;
  try {
    const method = form.dataset.method || 'POST';
    const payload = method === 'DELETE' ? undefined : await formPayload(form);
    const data = await api(method, form.dataset.api, payload);
    if (form.dataset.then === 'reset') form.reset();
    // Done with a field inside a live region: let go of it, so the region shows what was saved.
    if (form.closest('[data-live]') && form.contains(document.activeElement)) document.activeElement.blur();
    if (form.dataset.then === 'reload') { location.reload(); return; }
    if (form.dataset.then === 'go') { location.href = form.dataset.href; return; }
    if (form.dataset.then === 'secret') { showSecret(data, form); return; }
    if (form.dataset.then === 'detail') {
      const result = form.querySelector('.form-result');
      if (result) result.textContent = data?.detail || '';
      toast(data?.detail || t('common.saved'));
      return;
    }
    toast(t('common.saved'));
    refreshSoon();
  } catch (failure) {
    // Said once: beside the form when it has a place for it, else as a toast.
    if (error) error.textContent = failure.message;
    else toast(failure.message, 'error');
    form.dispatchEvent(new CustomEvent('refused'));
    // A refused change leaves the controls showing what is stored, not what was tried.
    if (form.dataset.autosubmit) for (const select of form.querySelectorAll('select')) {
      for (const option of select.options) option.selected = option.defaultSelected;
    }
  } finally {
    if (button) button.disabled = false;
  }
});

// A channel picker shows the fields of the chosen channel; the others are disabled, so they are not sent.
function showChannelFields(select) {
  for (const set of select.form.querySelectorAll('fieldset[data-channels]')) {
    const on = set.dataset.channels.split(' ').includes(select.value);
    set.hidden = !on;
    set.disabled = !on;
  }
}
for (const picker of document.querySelectorAll('select[data-channel-picker]')) {
  showChannelFields(picker);
  picker.addEventListener('change', () => showChannelFields(picker));
}

document.addEventListener('change', (event) => {
  const form = event.target.form;
  if (!form || !form.dataset.autosubmit) return;
  if (form.dataset.api) form.requestSubmit(); else form.submit();
});

// A rule's preview: the conversations of the last 7 days its conditions match, before it is saved.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-preview]');
  if (!button) return;
  const form = button.form;
  const out = form.querySelector('.preview-result');
  try {
    const draft = await formPayload(form);
    const result = await api('POST', button.dataset.preview, { trigger: draft.trigger, conditions: draft.conditions });
    out.textContent = result.count ? t('rules.preview_found', result.count, '') : t('rules.preview_none');
    // Each conversation a link, to look at what the rule would have done to.
    result.numbers.forEach((number, i) => {
      if (i) out.append(', ');
      const link = document.createElement('a');
      link.href = `/app/${body.dataset.workspace}/conversations/${number}`;
      link.textContent = `#${number}`;
      out.append(link);
    });
  } catch (failure) {
    out.textContent = failure.message;
  }
});

// The status dot follows the choice at once (a refused change puts both back).
document.getElementById('my-status')?.addEventListener('change', (event) => {
  const dot = document.getElementById('my-status-dot');
  if (dot) dot.className = `dot ${event.target.value}`;
});

// The inbox view the agent has open is the list shown beside a conversation.
if (body.dataset.page === 'inbox') {
  document.cookie = `atiende_view=${encodeURIComponent(location.search.slice(1))}; path=/app/${body.dataset.workspace}; SameSite=Lax`;
}

// On a phone the sidebar opens and closes behind the menu button.
document.getElementById('menu-toggle')?.addEventListener('click', (event) => {
  const open = document.getElementById('sidebar')?.classList.toggle('open');
  event.currentTarget.setAttribute('aria-expanded', String(Boolean(open)));
});

// The composer in note mode: tinted, its button "Add note".
function showNoteMode() {
  const toggle = document.getElementById('note-toggle');
  const button = document.getElementById('composer-send');
  if (!toggle || !button) return;
  document.getElementById('composer')?.classList.toggle('note-mode', toggle.checked);
  button.textContent = toggle.checked ? button.dataset.note : button.dataset.reply;
  const box = document.getElementById('reply-text');
  if (box) box.placeholder = toggle.checked ? box.dataset.notePlaceholder : box.dataset.replyPlaceholder;
}
document.getElementById('note-toggle')?.addEventListener('change', showNoteMode);
document.getElementById('composer')?.addEventListener('reset', () => setTimeout(showNoteMode));

// Times as the agent's own clock reads them: the time zone of their account, which every page shows, not this
// browser's. `wallClock` gives an instant's reading as a UTC timestamp of the same fields; `fromWallClock` the instant
// at which the clock reads those fields (twice around, for the hour a clock change moves).
const timeZone = body.dataset.timeZone || undefined;
const clockParts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
  hour: 'numeric', minute: 'numeric', second: 'numeric' });
function wallClock(date) {
  const p = Object.fromEntries(clockParts.formatToParts(date).map((part) => [part.type, Number(part.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
}
function fromWallClock(fields) {
  let guess = fields;
  for (let i = 0; i < 2; i++) guess += fields - wallClock(new Date(guess));
  return new Date(guess);
}
// Snooze and reminder presets: an hour from now, tomorrow at 9:00, in 3 days at 9:00, next Monday at 9:00.
function snoozeTime(preset) {
  if (preset === 'hour') return new Date(Date.now() + 3600 * 1000);
  const at = new Date(wallClock(new Date()));
  at.setUTCHours(9, 0, 0, 0);
  if (preset === 'tomorrow') at.setUTCDate(at.getUTCDate() + 1);
  else if (preset === '3days') at.setUTCDate(at.getUTCDate() + 3);
  else at.setUTCDate(at.getUTCDate() + ((8 - at.getUTCDay()) % 7 || 7));
  return fromWallClock(at.getTime());
}
const localInput = (date) => new Date(wallClock(date)).toISOString().slice(0, 16);
// Each says until when (again after the head is re-read live).
function labelSnoozePresets() {
  for (const button of document.querySelectorAll('[data-snooze]')) {
    button.title = snoozeTime(button.dataset.snooze)
      // As the pages write times (the server's medium date and short time, in the same locale).
      .toLocaleString(body.dataset.lang === 'es' ? 'es-CL' : 'en-US', { timeZone, dateStyle: 'medium', timeStyle: 'short' });
  }
}
labelSnoozePresets();

// On a phone a table stacks its cells, one card per row: each cell carries its column's name to show above it.
function labelCells(root = document) {
  for (const table of root.querySelectorAll('table.grid')) {
    const names = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll('tbody tr')) {
      [...row.children].forEach((cell, i) => { if (names[i]) cell.dataset.label = names[i]; });
    }
  }
}
labelCells();

document.addEventListener('click', (event) => {
  const button = event.target.closest?.('[data-snooze]');
  if (!button) return;
  button.form.querySelector(`[name="${button.dataset.target || 'snoozed_until'}"]`).value = localInput(snoozeTime(button.dataset.snooze));
  if (button.dataset.submit !== '0') button.form.requestSubmit();
});

// Suggestions while typing in the composer: "@" offers the colleagues to mention, "/" the canned responses. Arrows
// choose, Enter or Tab takes one, Escape closes; one list serves both.
const fold = (text) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

function suggest(box, list, { pattern, find, label, take }) {
  let matches = [];
  let chosen = 0;
  let open = false;
  const typed = () => pattern.exec(box.value.slice(0, box.selectionStart));
  const close = () => {
    if (!open) return;
    open = false; list.hidden = true; matches = []; box.removeAttribute('aria-activedescendant');
  };
  function show() {
    const found = typed();
    matches = found ? find(fold(found[2])).slice(0, 8) : [];
    if (!matches.length) { close(); return; }
    open = true;
    chosen = Math.min(chosen, matches.length - 1);
    list.replaceChildren(...matches.map((match, i) => {
      const item = document.createElement('li');
      item.id = `suggestion-${i}`;
      item.setAttribute('role', 'option');
      item.setAttribute('aria-selected', String(i === chosen));
      item.textContent = label(match);
      item.addEventListener('mousedown', (event) => { event.preventDefault(); choose(match); });
      return item;
    }));
    box.setAttribute('aria-activedescendant', `suggestion-${chosen}`);
    list.hidden = false;
  }
  function choose(match) {
    const found = typed();
    if (!found) return;
    const start = box.selectionStart - found[2].length - 1;
    close();
    take(match, start, box.selectionStart);
    box.focus();
  }
  box.addEventListener('input', () => { chosen = 0; show(); });
  box.addEventListener('blur', () => setTimeout(close, 100));
  box.addEventListener('keydown', (event) => {
    if (!open || !matches.length) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      chosen = (chosen + (event.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
      show();
      event.preventDefault();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      choose(matches[chosen]);
      event.preventDefault();
      event.stopImmediatePropagation();
    } else if (event.key === 'Escape') {
      close();
      event.stopImmediatePropagation();
    }
  });
}

// How well a canned response matches what was typed after "/": its shortcut's start first, then a word of its
// title, then the letters in order anywhere (a few letters find it).
function cannedScore(response, query) {
  const shortcut = fold(response.shortcut);
  const title = fold(response.title);
  if (!query || shortcut.startsWith(query)) return 0;
  if (title.split(/\s+/).some((word) => word.startsWith(query))) return 1;
  if (shortcut.includes(query) || title.includes(query)) return 2;
  let at = 0;
  const text = `${shortcut} ${title}`;
  for (const letter of query) { at = text.indexOf(letter, at) + 1; if (!at) return -1; }
  return 3;
}

(() => {
  const box = document.getElementById('reply-text');
  const list = document.getElementById('mentions');
  if (!box || !list) return;
  const parse = (json) => { try { return JSON.parse(json || '[]'); } catch { return []; } };
  const people = parse(box.dataset.members);
  suggest(box, list, {
    pattern: /(^|\s)@([\p{L}\p{N}._-]*)$/u,
    find: (query) => people.filter((p) => fold(p.handle).startsWith(query) || fold(p.name).split(/\s+/).some((w) => w.startsWith(query))),
    label: (p) => `${p.name} (@${p.handle})`,
    take: (p, start, end) => box.setRangeText(`@${p.handle} `, start, end, 'end'),
  });

  const canned = parse(box.dataset.canned);
  const chosenField = document.getElementById('reply-canned');
  const gaps = document.getElementById('canned-gaps');
  // A variable the conversation had no value for stays written: it is pointed out, and selected to be typed over.
  const showGaps = () => {
    const left = [...new Set(box.value.match(/\{\{\s*[a-z_]+\.[a-z0-9_]+\s*\}\}/g) || [])];
    gaps.hidden = !left.length;
    gaps.textContent = left.length ? t('canned.gaps', left.join(', ')) : '';
    return left;
  };
  suggest(box, list, {
    pattern: /(^|\s)\/([\p{L}\p{N}_-]*)$/u,
    find: (query) => canned.map((r) => [cannedScore(r, query), r]).filter(([score]) => score >= 0)
      .sort((a, b) => a[0] - b[0] || a[1].shortcut.localeCompare(b[1].shortcut)).map(([, r]) => r),
    label: (r) => `/${r.shortcut} · ${r.title}`,
    take: async (response, start, end) => {
      try {
        const filled = await api('GET', box.dataset.cannedUrl + response.id);
        box.setRangeText(filled.text, start, end, 'end');
        if (chosenField) chosenField.value = response.id;
        selectGap();
      } catch (failure) {
        toast(failure.message, 'error');
      }
    },
  });
  function selectGap() {
    const left = showGaps();
    if (!left.length) return;
    const at = box.value.indexOf(left[0]);
    box.focus();
    box.setSelectionRange(at, at + left[0].length);
  }
  if (gaps) box.addEventListener('input', () => { if (!gaps.hidden) showGaps(); });
  // Sent with a gap left, the reply is refused: the gap is selected again, to be typed over.
  box.form?.addEventListener('refused', selectGap);
  box.form?.addEventListener('reset', () => {
    if (chosenField) chosenField.value = '';
    if (gaps) { gaps.hidden = true; gaps.textContent = ''; }
  });
})();

// Ctrl/Cmd+Enter sends the reply.
document.getElementById('reply-text')?.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) { event.preventDefault(); event.target.form.requestSubmit(); }
});

// ------------------------------------------------------------------------------------ live regions

// An event re-reads only the regions it concerns, each alone: the open conversation's timeline, head or customer
// panel, one row of the list (or the list, when a conversation may have joined it), the sidebar's counts, the bell.
// Under a burst of events a region is re-read at most about once a second (the counts every three); calling with
// nothing re-reads them all.
const pendingRegions = new Set();
const lastRead = new Map();
let refreshTimer = null;
let refreshing = false;
const pageRegions = () => [...document.querySelectorAll('[data-live]')].map((region) => region.dataset.live);

function refreshSoon(regions) {
  if (!regions) lastRead.clear();  // after the agent's own action, or a reconnect: everything, now
  for (const name of regions || [...pageRegions(), 'sidebar']) pendingRegions.add(name);
  schedule(120);
}

function schedule(delay) {
  if (refreshTimer || refreshing || pendingRegions.size === 0) return;
  refreshTimer = setTimeout(refresh, delay);
}

function regionRequest(name) {
  if (name === 'sidebar' || name === 'bell') return [`/app/${body.dataset.workspace}/regions/${name}`, {}];
  if (name.startsWith('row:')) return [location.href, { 'X-Live-Region': 'row', 'X-Live-Row': name.slice(4) }];
  return [location.href, { 'X-Live-Region': name }];
}

async function refresh() {
  refreshTimer = null;
  refreshing = true;
  const now = Date.now();
  // The counts change less than the list does: under a burst they follow every few seconds.
  const interval = (name) => (name === 'sidebar' ? 3000 : 1000);
  let due = [...pendingRegions].filter((name) => now - (lastRead.get(name) || 0) >= interval(name));
  // Many rows at once: one read of the list instead.
  if (due.filter((name) => name.startsWith('row:')).length > 3 && document.getElementById('inbox-list')) {
    for (const name of due) if (name.startsWith('row:')) pendingRegions.delete(name);
    due = due.filter((name) => !name.startsWith('row:'));
    if (now - (lastRead.get('inbox-list') || 0) >= 1000) due.push('inbox-list'); else pendingRegions.add('inbox-list');
  }
  // A list re-read covers its rows.
  const list = due.includes('inbox-list');
  try {
    for (const name of due) {
      pendingRegions.delete(name);
      if (list && name.startsWith('row:')) continue;
      lastRead.set(name, Date.now());
      await readRegion(name);
    }
    updateElapsed();
    updateCountdowns();
  } finally {
    refreshing = false;
    // What was skipped (read less than a second ago, or held while the agent types in it) comes next.
    schedule(300);
  }
}

async function readRegion(name) {
  const [url, headers] = regionRequest(name);
  let fresh;
  try {
    const response = await fetch(url, { credentials: 'same-origin', headers });
    if (!response.ok) return;
    fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
  } catch {
    return;  // the next event or reconnect reads it again
  }
  if (name.startsWith('row:')) {
    const row = document.querySelector(`.row[data-number="${name.slice(4)}"]`);
    const replacement = fresh.querySelector('.row');
    if (!row) return;
    if (!replacement) { row.remove(); return; }  // no longer in this view
    const picked = row.querySelector('.pick')?.checked;
    const cursor = row.classList.contains('cursor');
    row.replaceWith(replacement);
    if (picked) replacement.querySelector('.pick').checked = true;
    if (cursor) replacement.classList.add('cursor');
    return;
  }
  const region = document.querySelector(`[data-live="${name}"]`);
  const replacement = fresh.querySelector(`[data-live="${name}"]`);
  if (!region || !replacement) return;
  const active = document.activeElement;
  if (active && active !== document.body && region.contains(active) && active.matches('input, textarea, select')) {
    pendingRegions.add(name);  // never under the agent's hands
    return;
  }
  const picked = new Set([...region.querySelectorAll('.pick:checked')].map((box) => box.value));
  const cursor = region.querySelector('.row.cursor')?.dataset.number;
  const timeline = region.id === 'timeline';
  const atBottom = timeline && region.scrollHeight - region.scrollTop - region.clientHeight < 80;
  region.innerHTML = replacement.innerHTML;
  if (timeline && atBottom) region.scrollTop = region.scrollHeight;
  for (const box of region.querySelectorAll('.pick')) box.checked = picked.has(box.value);
  if (cursor) region.querySelector(`.row[data-number="${cursor}"]`)?.classList.add('cursor');
  labelSnoozePresets();
  labelCells(region);
}

// The regions an event concerns on this page.
function regionsFor(event) {
  const payload = event.payload || {};
  const page = body.dataset.page;
  const number = payload.conversation?.number;
  const regions = [];
  // An agent's stretch of work changes nothing on anyone's page.
  if (event.type === 'conversation.worked') return regions;
  if (/^(conversation|message|sla)\./.test(event.type)) {
    if (event.type !== 'message.updated') regions.push('sidebar', 'team-board');
    // (Beside a conversation the list is folded away below desktop width: then nothing to re-read.)
    if (document.getElementById('inbox-list')?.offsetParent && number) {
      // A conversation not shown may belong at the top now (or in this view at all).
      regions.push(document.querySelector(`.row[data-number="${number}"]`) ? `row:${number}` : 'inbox-list');
    }
    if (page === 'conversation' && number === conversationNumber) {
      regions.push('timeline');
      if (!event.type.startsWith('message.')) regions.push('conversation-head', 'customer');
    }
  } else if (/^member\./.test(event.type)) {
    regions.push('team-board');
  } else if (/^contact\./.test(event.type)) {
    if (page === 'conversation' || page === 'contact') regions.push('customer');
    if (page === 'inbox') regions.push('inbox-list');
  }
  return regions.filter((name) => name.startsWith('row:') || name === 'sidebar' || document.querySelector(`[data-live="${name}"]`));
}

// ------------------------------------------------------------------------------ the event stream

let lastId = Number(body.dataset.lastEvent || 0);
let socket = null;
let retries = 0;

function connect() {
  if (!workspaceId) return;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${scheme}://${location.host}/api/v1/workspaces/${workspaceId}/events?since=${lastId}`);
  socket.addEventListener('open', () => {
    const wasDown = retries > 0;
    retries = 0;
    document.getElementById('live-banner').hidden = true;
    announce('viewing');
    setTimeout(() => announce('viewing'), 1500);
    if (wasDown) refreshSoon();
  });
  socket.addEventListener('message', (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (event.type === 'presence') { showPresence(event); return; }
    if (event.type === 'visitor_typing') { showVisitorTyping(event); return; }
    if (typeof event.id === 'number') {
      if (event.id <= lastId) return;
      lastId = event.id;
    }
    handle(event);
  });
  socket.addEventListener('close', () => {
    document.getElementById('live-banner').hidden = false;
    retries += 1;
    setTimeout(connect, Math.min(10000, 300 * 2 ** Math.min(retries, 6)));
  });
}

function handle(event) {
  const payload = event.payload || {};
  if (event.type === 'notification.created') {
    if (isMe(payload.user_id)) {
      // A notification about no conversation (number 0: a failed backup) opens the notifications page.
      const number = payload.conversation_number;
      const key = !number ? 'live.notice' : payload.kind === 'mention' ? 'live.mentioned' : 'live.assigned';
      notify(t(key, number), `/app/${body.dataset.workspace}/` + (number ? `conversations/${number}` : 'notifications'));
      refreshSoon(body.dataset.page === 'notifications' ? undefined : ['bell']);
    }
    return;
  }
  if (event.type === 'message.created' && payload.message?.kind === 'incoming' && isMe(payload.conversation?.assignee_id)
      && payload.conversation.number !== conversationNumber) {
    notify(t('live.new_message', payload.conversation.number), `/app/${body.dataset.workspace}/conversations/${payload.conversation.number}`);
  }
  const regions = regionsFor(event);
  if (regions.length) refreshSoon(regions);
}

// ----------------------------------------------------------------------------------------- presence

let lastTyping = 0;
// Handle time: the page says whether the agent is there — visible, and used in the last minute.
let lastInput = Date.now();
let saidActive = true;
const isActive = () => document.visibilityState === 'visible' && Date.now() - lastInput < 60000;

function announce(type) {
  if (!conversationNumber || !socket || socket.readyState !== WebSocket.OPEN) return;
  saidActive = isActive();
  socket.send(JSON.stringify({ type, conversation: conversationNumber, active: saidActive }));
}

// Back after a pause: said at once, not at the next heartbeat.
function noticeInput() {
  lastInput = Date.now();
  if (!saidActive) announce('viewing');
}
for (const name of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart', 'scroll']) {
  document.addEventListener(name, noticeInput, { passive: true, capture: true });
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') lastInput = Date.now();
  announce('viewing');
});

function showPresence(event) {
  const line = document.getElementById('presence');
  if (!line || event.conversation !== conversationNumber) return;
  const others = (list) => [...new Set((list || []).filter((p) => !isMe(p.id)).map((p) => p.name))].join(', ');
  const typing = others(event.typing);
  const viewing = others(event.viewers);
  line.textContent = typing ? t('presence.typing', typing) : viewing ? t('presence.viewing', viewing) : '';
}

let visitorTypingTimer = null;

// A live chat customer is typing; the line clears itself when they stop.
function showVisitorTyping(event) {
  const line = document.getElementById('visitor-typing');
  if (!line || event.conversation !== conversationNumber) return;
  line.textContent = t('presence.visitor_typing');
  clearTimeout(visitorTypingTimer);
  visitorTypingTimer = setTimeout(() => { line.textContent = ''; }, 5000);
}

document.getElementById('reply-text')?.addEventListener('input', () => {
  const now = Date.now();
  if (now - lastTyping > 2000) { lastTyping = now; announce('typing'); }
});
if (conversationNumber) setInterval(() => announce('viewing'), 30000);
window.addEventListener('pagehide', () => announce('left'));

// ------------------------------------------------------------------------------- inbox bulk actions

// Each picked conversation in turn; a refusal is said and the rest go on.
async function bulkEach(act) {
  const numbers = [...document.querySelectorAll('.pick:checked')].map((box) => box.value);
  if (!numbers.length) { toast(t('bulk.none_picked'), 'error'); return; }
  let done = 0;
  for (const number of numbers) {
    try {
      await act(number);
      done += 1;
    } catch (failure) {
      toast(`#${number}: ${failure.message}`, 'error');
    }
  }
  toast(t('bulk.done', done));
  refreshSoon();
}

const bulk = (change) => bulkEach(async (number) => api('PATCH', conversationURL(number), await change(number)));

document.querySelector('[data-bulk-macro]')?.addEventListener('change', (event) => {
  const macro = event.target.value;
  if (!macro) return;
  const picked = document.querySelectorAll('.pick:checked').length;
  // It may write to several customers at once: asked first.
  if (picked && !window.confirm(t('macros.confirm', event.target.selectedOptions[0].textContent, picked))) { event.target.value = ''; return; }
  bulkEach((number) => api('POST', `${conversationURL(number)}/macros/${macro}/run`)).then(() => { event.target.value = ''; });
});

document.querySelector('[data-bulk-assign]')?.addEventListener('change', (event) => {
  const value = event.target.value;
  if (!value) return;
  bulk(async () => ({ assignee_id: value === 'none' ? null : value })).then(() => { event.target.value = ''; });
});

document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-bulk-action]');
  if (!button) return;
  if (button.dataset.bulkAction === 'resolve') bulk(async () => ({ status: 'resolved' }));
  if (button.dataset.bulkAction === 'label') {
    const input = document.getElementById('bulk-label');
    const label = input.value.trim();
    if (!label) { input.focus(); return; }
    bulk(async (number) => {
      const current = await api('GET', conversationURL(number));
      return { labels: [...new Set([...(current.labels || []), label.toLowerCase()])] };
    }).then(() => { input.value = ''; });
  }
});

document.getElementById('enable-notifications')?.addEventListener('click', () => {
  if ('Notification' in window) Notification.requestPermission();
});

// --------------------------------------------------------------------------------- keyboard

function rows() { return [...document.querySelectorAll('.rows .row')]; }

function move(step) {
  const list = rows();
  if (!list.length) return;
  const index = list.findIndex((row) => row.classList.contains('cursor'));
  const next = list[Math.max(0, Math.min(list.length - 1, index + step))];
  list.forEach((row) => row.classList.remove('cursor'));
  next.classList.add('cursor');
  next.querySelector('a')?.focus();
  next.scrollIntoView({ block: 'nearest' });
}

function openNeighbour(step) {
  const list = rows();
  const index = list.findIndex((row) => row.classList.contains('current'));
  const next = list[index + step];
  if (index >= 0 && next) location.href = next.dataset.href;
}

function focusShortcut(key) {
  const target = document.querySelector(`[data-shortcut="${key}"]`);
  if (!target) return false;
  target.focus();
  return true;
}

document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const field = event.target.closest?.('input, textarea, select, [contenteditable]');
  if (field) {
    if (event.key === 'Escape') field.blur();
    return;
  }
  const note = document.getElementById('note-toggle');
  switch (event.key) {
    // Beside a conversation, j and k open the next or previous one of the list.
    case 'j': if (body.dataset.page === 'conversation') openNeighbour(1); else move(1); break;
    case 'k': if (body.dataset.page === 'conversation') openNeighbour(-1); else move(-1); break;
    case 'Enter': {
      const row = document.querySelector('.row.cursor');
      if (row) location.href = row.dataset.href;
      break;
    }
    case '/': if (focusShortcut('/')) event.preventDefault(); break;
    case 'r': if (note) note.checked = false; showNoteMode(); if (focusShortcut('r')) event.preventDefault(); break;
    case 'n': if (note) { note.checked = true; showNoteMode(); focusShortcut('r'); event.preventDefault(); } break;
    case 'e': document.querySelector('[data-shortcut="e"]')?.click(); break;
    case 'a': if (focusShortcut('a')) event.preventDefault(); break;
    case '?': document.getElementById('help')?.showModal(); break;
    default: break;
  }
});

// ------------------------------------------------------------------------------ relative times

// "now", "5 min", "3 h", "2 d": the same compact spans the server renders.
function span(seconds) {
  return seconds < 60 ? t('time.now') : seconds < 3600 ? t('time.minutes', Math.floor(seconds / 60))
    : seconds < 86400 ? t('time.hours', Math.floor(seconds / 3600)) : t('time.days', Math.floor(seconds / 86400));
}

function updateElapsed() {
  const now = Date.now();
  for (const time of document.querySelectorAll('time[data-elapsed]')) {
    time.textContent = span(Math.max(0, (now - Date.parse(time.getAttribute('datetime'))) / 1000));
  }
}

// A page following work in the background (an import) looks again after a while, unless the reader is typing in it.
for (const node of document.querySelectorAll('[data-reload-after]')) {
  setTimeout(() => { if (!document.activeElement?.closest('form')) location.reload(); }, Number(node.dataset.reloadAfter) * 1000);
}

// Service-level deadlines count down (and turn overdue) without a reload.
function updateCountdowns() {
  const now = Date.now();
  for (const badge of document.querySelectorAll('time[data-countdown]')) {
    const due = Date.parse(badge.getAttribute('datetime'));
    // Counted in whole minutes: "overdue by now" says nothing.
    const left = span(Math.max(60, Math.abs(due - now) / 1000));
    const label = badge.dataset.label ? `${badge.dataset.label}: ` : '';
    badge.textContent = label + (due > now ? t('sla.due_in', left) : t('sla.overdue', left));
    badge.classList.toggle('overdue', due <= now);
  }
}

setInterval(updateElapsed, 30000);
setInterval(updateCountdowns, 15000);
const timeline = document.getElementById('timeline');
if (timeline) timeline.scrollTop = timeline.scrollHeight;
connect();
