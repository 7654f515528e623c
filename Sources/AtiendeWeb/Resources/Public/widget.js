// Atiende live chat widget. Paste on a website:
//   <script src="https://desk.example.com/widget.js" data-inbox="INBOX-ID" async></script>
// Optional verified identity (computed by the website's server with the inbox's identity secret):
//   window.AtiendeIdentity = { user_id: '42', email: 'ana@example.com', name: 'Ana', hash: '<hex HMAC-SHA256>' };
// No dependencies; everything lives in a shadow root so the host page's styles and ours never meet.
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || !script.dataset.inbox || window.__atiendeWidget) return;
  window.__atiendeWidget = true;
  const inbox = script.dataset.inbox;
  const base = new URL(script.src, location.href).origin;
  const api = `${base}/widget/v1/${encodeURIComponent(inbox)}`;
  const lang = /^en/i.test(script.dataset.lang || document.documentElement.lang || navigator.language || '') ? 'en' : 'es';
  const T = {
    es: {
      open: 'Abrir el chat', close: 'Cerrar el chat', online: 'En línea: respondemos en instantes', away: 'Ahora no hay nadie conectado',
      back: 'Volvemos {0}.', leave: 'Déjanos tu email y te responderemos allí.', emailSaved: 'Gracias: te escribiremos a {0}.',
      placeholder: 'Escribe tu mensaje…', send: 'Enviar', attach: 'Adjuntar imagen o PDF', name: 'Tu nombre', email: 'Tu email',
      start: 'Empezar', save: 'Guardar', typing: '{0} está escribiendo…', seen: 'Visto', sending: 'Enviando…', failed: 'No se envió',
      retry: 'Reintentar', team: 'Equipo', you: 'Tú', offline: 'Sin conexión: reintentando…', file: 'Archivo',
      rate_limited: 'Estás enviando mensajes muy rápido; espera un momento.', text_too_long: 'El mensaje es demasiado largo (máximo 5000 caracteres).',
      attachment_type_not_allowed: 'Solo se pueden enviar imágenes (JPEG, PNG, GIF, WebP) y PDF.', attachment_too_large: 'El archivo es demasiado grande (máximo 10 MB).',
      invalid_email: 'Ese email no parece correcto.', required: 'Completa los campos para empezar.',
      unread: '{0} mensajes nuevos', unreadOne: '1 mensaje nuevo', newTitle: 'Nuevo mensaje',
      rate: 'Tu respuesta', rated: 'Gracias: respondiste {0}. Puedes cambiarla.', comment: '¿Algo que quieras contarnos? (opcional)',
      sendComment: 'Enviar comentario', commentSaved: 'Gracias por tu comentario.', survey_closed: 'Esta encuesta ya no recibe respuestas.',
    },
    en: {
      open: 'Open chat', close: 'Close chat', online: 'Online: we answer in moments', away: 'Nobody is online right now',
      back: 'We are back {0}.', leave: 'Leave your email and we will answer you there.', emailSaved: 'Thanks: we will write to {0}.',
      placeholder: 'Write your message…', send: 'Send', attach: 'Attach an image or PDF', name: 'Your name', email: 'Your email',
      start: 'Start', save: 'Save', typing: '{0} is typing…', seen: 'Seen', sending: 'Sending…', failed: 'Not sent',
      retry: 'Retry', team: 'Team', you: 'You', offline: 'Offline: reconnecting…', file: 'File',
      rate_limited: 'You are sending messages too fast; wait a moment.', text_too_long: 'The message is too long (5000 characters at most).',
      attachment_type_not_allowed: 'Only images (JPEG, PNG, GIF, WebP) and PDF files can be sent.', attachment_too_large: 'The file is too large (10 MB at most).',
      invalid_email: 'That email does not look right.', required: 'Fill in the fields to start.',
      unread: '{0} new messages', unreadOne: '1 new message', newTitle: 'New message',
      rate: 'Your answer', rated: 'Thank you: you answered {0}. You can change it.', comment: 'Anything you would like to tell us? (optional)',
      sendComment: 'Send comment', commentSaved: 'Thank you for your comment.', survey_closed: 'This survey no longer takes answers.',
    },
  }[lang];
  const say = (key, arg) => (T[key] || key).replace('{0}', arg ?? '');
  const storageKey = `atiende:${inbox}`;
  const store = (() => { try { return window.localStorage; } catch { return null; } })();

  const state = {
    token: store?.getItem(storageKey) || null, session: null, info: null, socket: null, poll: null, retry: 500,
    messages: new Map(), pending: new Map(), surveyLines: new Map(), typingTimer: null, lastTyping: 0, lastRead: 0, pendingEmail: null, profile: {},
  };

  // ------------------------------------------------------------------------------------------- view
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') node.className = v; else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
    }
    node.append(...children.filter(Boolean));
    return node;
  };
  const icon = (d) => {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', d);
    svg.append(path);
    return svg;
  };
  // A custom element name, so the page's `div { … }` rules never match the host; its placement is inline !important.
  const host = el('atiende-chat', { id: 'atiende-widget' });
  host.style.cssText = 'all:initial!important;position:fixed!important;right:20px!important;bottom:20px!important;z-index:2147483000!important;display:block!important;font:14px/1.4 system-ui,sans-serif!important;color:#1b1f24!important';
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    [hidden] { display: none !important; }
    svg { width: 24px; height: 24px; fill: currentColor; display: block; margin: auto; }
    .clip svg { width: 18px; height: 18px; }
    * { box-sizing: border-box; font: inherit; }
    button { cursor: pointer; border: 0; border-radius: 8px; padding: 8px 12px; background: var(--c); color: #fff; }
    button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 1px; }
    .launcher { width: 56px; height: 56px; border-radius: 50%; padding: 0; box-shadow: 0 4px 14px #0004; display: block; margin-left: auto; position: relative; }
    .badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; border-radius: 11px; padding: 0 6px;
      background: #cf222e; color: #fff; font-size: 12px; font-weight: 700; line-height: 22px; text-align: center; box-shadow: 0 0 0 2px #fff; }
    .preview { display: block; margin-left: auto; max-width: min(280px, calc(100vw - 40px)); margin-bottom: 14px; padding: 10px 12px; background: #fff;
      color: #1b1f24; border-radius: 12px; box-shadow: 0 4px 14px #0003; text-align: left; cursor: pointer; white-space: normal; }
    .preview strong { display: block; font-size: 12px; color: #57606a; margin-bottom: 2px; }
    .panel { width: min(370px, calc(100vw - 40px)); height: min(560px, calc(100vh - 100px)); background: #fff; border-radius: 12px;
      box-shadow: 0 8px 30px #0004; display: flex; flex-direction: column; overflow: hidden; margin-bottom: 12px; }
    header { background: var(--c); color: #fff; padding: 12px 16px; }
    header strong { display: block; font-size: 16px; }
    header small { opacity: .9; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; background: #f6f8fa; }
    .msg { max-width: 80%; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap; overflow-wrap: anywhere; background: #fff; border: 1px solid #d0d7de; }
    .msg.visitor { align-self: flex-end; background: var(--c); color: #fff; border-color: transparent; }
    .who { display: flex; gap: 6px; align-items: center; font-size: 12px; color: #57606a; margin-bottom: 2px; }
    .avatar { width: 22px; height: 22px; border-radius: 50%; background: var(--c); color: #fff; display: inline-grid; place-items: center; font-size: 11px; }
    .meta { font-size: 11px; opacity: .8; margin-top: 2px; text-align: right; }
    .msg img { max-width: 100%; border-radius: 6px; display: block; margin-top: 4px; }
    .msg a { color: inherit; }
    .failed { color: #cf222e; }
    .note { padding: 8px 12px; background: #fff8c5; border-bottom: 1px solid #d4a72c55; font-size: 13px; }
    .note form, .prechat { display: flex; flex-direction: column; gap: 6px; margin-top: 6px; }
    .prechat { padding: 12px; }
    input, textarea { border: 1px solid #8c959f; border-radius: 8px; padding: 8px; width: 100%; background: #fff; color: #1b1f24; }
    .typing { font-size: 12px; color: #57606a; padding: 0 12px 4px; min-height: 18px; }
    .composer { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #d0d7de; align-items: flex-end; }
    .composer textarea { resize: none; height: 40px; max-height: 120px; }
    .composer .clip { background: #eaeef2; color: #1b1f24; }
    .error { color: #cf222e; font-size: 12px; padding: 0 12px 6px; }
    .survey .scale { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 6px; }
    .survey .scale button { min-width: 32px; padding: 6px 8px; background: #eaeef2; color: #1b1f24; }
    .survey .scale button.chosen { background: var(--c); color: #fff; }
    .survey-status { font-size: 12px; margin-top: 4px; }
    .survey-comment { display: flex; flex-direction: column; gap: 4px; margin-top: 6px; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  `);
  root.adoptedStyleSheets = [sheet];

  const title = el('strong', { text: '' });
  const status = el('small', { class: 'status', text: '' });
  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
  const typingLine = el('div', { class: 'typing', 'aria-live': 'polite' });
  const errorLine = el('div', { class: 'error', role: 'alert' });
  const note = el('div', { class: 'note', hidden: '' });
  const text = el('textarea', { name: 'text', 'aria-label': say('placeholder'), placeholder: say('placeholder'), maxlength: '5000' });
  const file = el('input', { type: 'file', accept: 'image/jpeg,image/png,image/gif,image/webp,application/pdf', class: 'sr', 'aria-label': say('attach') });
  const composer = el('form', { class: 'composer' },
    el('button', { type: 'button', class: 'clip', title: say('attach'), 'aria-label': say('attach'), onclick: () => file.click() },
      icon('M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z')),
    file, text, el('button', { type: 'submit', class: 'send' }, say('send')));
  const prechat = el('form', { class: 'prechat', hidden: '' });
  const panel = el('section', { class: 'panel', hidden: '', 'aria-label': 'Chat' },
    el('header', {}, title, status), note, log, prechat, typingLine, errorLine, composer);
  const badge = el('span', { class: 'badge', hidden: '', 'aria-hidden': 'true' });
  const launcher = el('button', { class: 'launcher', type: 'button', 'aria-label': say('open'), 'aria-expanded': 'false' },
    icon('M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 2-2z'), badge);
  // The team's last reply, while the chat is closed: a click opens it.
  const preview = el('button', { class: 'preview', type: 'button', hidden: '' });
  root.append(panel, preview, launcher);
  const pageTitle = document.title;

  const initials = (name) => (name || '?').split(/\s+/).map((p) => p[0]).join('').slice(0, 2).toUpperCase();
  const time = (iso) => new Date(iso).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });

  function render(m) {
    const mine = m.from === 'visitor';
    let node = root.getElementById(`m-${m.id}`) || (m.client_id && root.getElementById(`m-${m.client_id}`));
    // Polling brings the same messages again: an unchanged one keeps its node (and whatever is being typed in it).
    const json = JSON.stringify(m);
    if (node && node.dataset.json === json) return;
    const fresh = el('div', { class: `msg ${mine ? 'visitor' : 'team'}`, id: `m-${m.id || m.client_id}`, 'data-status': m.status });
    if (!mine) {
      const name = m.author?.name || say('team');
      fresh.append(el('div', { class: 'who' }, el('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name)), el('span', { class: 'author', text: name })));
    }
    if (m.text) fresh.append(el('div', { class: 'body', text: m.text }));
    for (const a of m.attachments || []) fresh.append(attachment(a));
    if (m.survey) fresh.append(surveyButtons(m));
    fresh.dataset.json = json;
    const meta = m.status === 'sending' ? say('sending') : m.status === 'failed' ? `${say('failed')}: ${m.error || ''}`
      : `${m.created_at ? time(m.created_at) : ''}${mine && m.status === 'read' ? ' · ' + say('seen') : ''}`;
    fresh.append(el('div', { class: `meta${m.status === 'failed' ? ' failed' : ''}`, text: meta }));
    // A comment being written survives the re-render (a read receipt, a poll): the same box, its text and focus.
    const writing = node?.querySelector('.survey-comment'), blank = fresh.querySelector('.survey-comment');
    if (writing && blank) blank.replaceWith(writing);
    if (node) node.replaceWith(fresh); else log.append(fresh);
    log.scrollTop = log.scrollHeight;
  }

  // A survey's scale as buttons; the answer can be changed, and a comment added once there is one.
  function surveyButtons(m) {
    const survey = m.survey;
    const box = el('div', { class: 'survey' });
    const scale = el('div', { class: 'scale', role: 'group', 'aria-label': say('rate') });
    const line = el('div', { class: 'survey-status', role: 'status' });
    // The message as last received: a box kept across re-renders answers for the newest copy.
    const current = () => state.messages.get(m.id) || m;
    const answer = async (body) => {
      try {
        if (body.comment == null) state.surveyLines.delete(survey.id);
        const saved = await call('POST', '/survey', { survey_id: survey.id, ...body });
        const now = current();
        now.survey.score = saved.score;
        render(now);
        return true;
      } catch (error) { line.textContent = T[error.code] || error.message; return false; }
    };
    for (let n = survey.min; n <= survey.max; n++) {
      scale.append(el('button', { type: 'button', class: n === survey.score ? 'chosen' : '', 'aria-pressed': String(n === survey.score),
                                  'data-score': String(n), onclick: () => answer({ score: n }) }, String(n)));
    }
    box.append(scale, line);
    if (survey.score != null) {
      // A line re-rendered (the answer pushed back, a poll) keeps what the visitor was last told.
      line.textContent = state.surveyLines.get(survey.id) || say('rated', survey.score);
      const comment = el('textarea', { name: 'comment', 'aria-label': say('comment'), placeholder: say('comment'), maxlength: '2000' });
      const form = el('form', { class: 'survey-comment' }, comment, el('button', { type: 'submit' }, say('sendComment')));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (!comment.value.trim()) return;
        state.surveyLines.set(survey.id, say('commentSaved'));
        if (await answer({ score: current().survey.score, comment: comment.value })) {
          const shown = root.querySelector(`#m-${m.id} .survey-status`);
          if (shown) shown.textContent = say('commentSaved');
        } else {
          state.surveyLines.delete(survey.id);
        }
      });
      box.append(form);
    }
    return box;
  }

  function attachment(a) {
    const box = el('div', { class: 'file' });
    if (a.content_type.startsWith('image/')) {
      const img = el('img', { alt: a.filename });
      box.append(img);
      fetchFile(a).then((url) => { img.src = url; }).catch(() => {});
    } else {
      box.append(el('a', { href: '#', onclick: (e) => { e.preventDefault(); fetchFile(a).then((url) => window.open(url, '_blank')); } }, `PDF · ${a.filename}`));
    }
    return box;
  }

  async function fetchFile(a) {
    const response = await fetch(`${api}/attachments/${a.id}`, { headers: { Authorization: `Bearer ${state.session}` } });
    if (!response.ok) throw new Error('file');
    return URL.createObjectURL(await response.blob());
  }

  function upsert(m) {
    if (!m || !m.id) return;
    state.messages.set(m.id, m);
    render(m);
    markRead();
    showUnread();
  }

  // Replies the visitor has not read, while the chat is closed or the tab in the background: a count on the launcher,
  // the last one beside it, and the count in the page's title.
  function showUnread() {
    const unread = [...state.messages.values()].filter((m) => m.from === 'team' && m.status !== 'read');
    const away = panel.hidden || document.hidden;
    const count = away ? unread.length : 0;
    badge.hidden = count === 0;
    badge.textContent = count > 9 ? '9+' : String(count);
    launcher.setAttribute('aria-label', say(panel.hidden ? 'open' : 'close') + (count ? ` · ${count === 1 ? say('unreadOne') : say('unread', count)}` : ''));
    const last = unread[unread.length - 1];
    preview.hidden = !(panel.hidden && last);
    if (last && panel.hidden) {
      preview.replaceChildren(el('strong', { text: last.author?.name || say('team') }),
        document.createTextNode((last.text || say('file')).slice(0, 140)));
    }
    document.title = count ? `(${count}) ${say('newTitle')} · ${pageTitle}` : pageTitle;
  }

  function showAvailability(info) {
    const a = info.availability;
    const away = !a.online || !a.open;
    status.textContent = away ? say('away') : say('online');
    note.replaceChildren();
    note.hidden = !away || state.emailKnown;
    if (!away || state.emailKnown) return;
    const when = a.next_opening ? new Date(a.next_opening).toLocaleString(lang, { weekday: 'long', hour: '2-digit', minute: '2-digit' }) : null;
    const email = el('input', { type: 'email', name: 'email', required: '', 'aria-label': say('email'), placeholder: say('email') });
    note.append(el('p', { class: 'away', text: `${when ? say('back', when) + ' ' : ''}${say('leave')}` }),
      el('form', { class: 'leave-email', novalidate: '', onsubmit: (e) => { e.preventDefault(); leaveEmail(email.value.trim()); } },
        email, el('button', { type: 'submit' }, say('save'))));
  }

  async function leaveEmail(value) {
    errorLine.textContent = '';
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) { errorLine.textContent = say('invalid_email'); return; }
    if (state.messages.size) {
      try { await call('POST', '/contact', { email: value }); } catch (failure) { errorLine.textContent = failure.message; return; }
    } else {
      state.pendingEmail = value;
    }
    state.emailKnown = true;
    note.replaceChildren(el('p', { class: 'email-saved', text: say('emailSaved', value) }));
  }

  // ------------------------------------------------------------------------------------------- server
  async function call(method, path, body, form) {
    const headers = { Authorization: `Bearer ${state.session}` };
    if (body) headers['Content-Type'] = 'application/json';
    const response = await fetch(api + path, { method, headers, body: form || (body ? JSON.stringify(body) : undefined) });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      if (response.status === 401 && path !== '/session') { state.session = null; start(); }
      const code = data.error?.code;
      const error = new Error(T[code] || data.error?.message || response.statusText);
      error.code = code;
      throw error;
    }
    return data;
  }

  async function start() {
    try {
      const response = await fetch(`${api}/session`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: state.token, language: lang, identity: window.AtiendeIdentity || undefined }),
      });
      const info = await response.json();
      if (!response.ok) throw new Error(info.error?.message || response.statusText);
      state.token = info.token; state.session = info.session; state.info = info;
      store?.setItem(storageKey, info.token);
      state.emailKnown = Boolean(info.visitor.email);
      host.style.setProperty('--c', info.inbox.color);
      title.textContent = info.inbox.name;
      showAvailability(info);
      log.replaceChildren();
      if (info.inbox.greeting) log.append(el('div', { class: 'msg team greeting', text: info.inbox.greeting }));
      for (const m of info.messages) upsert(m);
      for (const p of state.pending.values()) render(p);
      const needs = !info.messages.length && !info.visitor.verified && (info.inbox.require_name || info.inbox.require_email);
      showPrechat(needs, info);
      connect();
    } catch (failure) {
      errorLine.textContent = failure.message;
      setTimeout(start, Math.min(state.retry *= 2, 30000));
    }
  }

  function showPrechat(needed, info) {
    prechat.hidden = !needed;
    composer.hidden = needed;
    if (!needed) return;
    const fields = [];
    if (info.inbox.require_name) fields.push(el('input', { name: 'name', required: '', 'aria-label': say('name'), placeholder: say('name') }));
    if (info.inbox.require_email) fields.push(el('input', { name: 'email', type: 'email', required: '', 'aria-label': say('email'), placeholder: say('email') }));
    prechat.replaceChildren(...fields, el('button', { type: 'submit' }, say('start')));
    prechat.onsubmit = (e) => {
      e.preventDefault();
      for (const f of fields) state.profile[f.name] = f.value.trim();
      if (fields.some((f) => !f.value.trim())) { errorLine.textContent = say('required'); return; }
      if (state.profile.email) state.emailKnown = true;
      showPrechat(false, info);
      text.focus();
    };
  }

  function connect() {
    if (state.socket && state.socket.readyState <= 1) return;
    const url = `${api.replace(/^http/, 'ws')}/socket?session=${encodeURIComponent(state.session)}`;
    const socket = new WebSocket(url);
    state.socket = socket;
    socket.onopen = () => {
      state.retry = 500;
      stopPolling();
      errorLine.textContent = '';
      sync();
    };
    socket.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame.type === 'message') {
        typingLine.textContent = '';
        upsert(frame.message);
        // Someone of the team answered: they are here now, whatever the widget was told when it opened.
        if (frame.message.from === 'team' && state.info && !state.info.availability.online) {
          state.info.availability = { ...state.info.availability, online: true, open: true };
          showAvailability(state.info);
        }
      }
      else if (frame.type === 'ack') { state.pending.delete(frame.client_id); frame.message.client_id = frame.client_id; upsert(frame.message); }
      else if (frame.type === 'error' && frame.client_id) failed(frame.client_id, T[frame.code] || frame.message);
      else if (frame.type === 'typing') showTyping(frame.name);
      else if (frame.type === 'seen') { for (const m of state.messages.values()) if (m.from === 'visitor') { m.status = 'read'; render(m); } }
    };
    socket.onclose = () => {
      if (state.socket !== socket) return;
      state.socket = null;
      startPolling();
      setTimeout(connect, Math.min(state.retry *= 2, 30000));
    };
  }

  // Without a socket (blocked by a proxy, or reconnecting) the widget keeps working over plain HTTP.
  function startPolling() {
    if (state.poll) return;
    state.poll = setInterval(sync, 3000);
  }
  function stopPolling() { clearInterval(state.poll); state.poll = null; }
  async function sync() {
    try { for (const m of (await call('GET', '/messages')).messages) upsert(m); } catch { /* the next round tries again */ }
  }

  function showTyping(name) {
    typingLine.textContent = say('typing', name || say('team'));
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => { typingLine.textContent = ''; }, 5000);
  }

  function failed(clientID, reason) {
    const pending = state.pending.get(clientID);
    if (!pending) return;
    pending.status = 'failed'; pending.error = reason;
    render(pending);
    errorLine.textContent = reason;
  }

  async function send(body, picked) {
    const clientID = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const pending = { client_id: clientID, from: 'visitor', text: body, status: 'sending', attachments: [] };
    state.pending.set(clientID, pending);
    render(pending);
    const extra = { name: state.profile.name || undefined, email: state.profile.email || state.pendingEmail || undefined };
    errorLine.textContent = '';
    if (!picked && state.socket?.readyState === 1) {
      state.socket.send(JSON.stringify({ type: 'message', client_id: clientID, text: body, ...extra }));
      return;
    }
    try {
      let message;
      if (picked) {
        const form = new FormData();
        form.append('client_id', clientID);
        form.append('text', body);
        if (extra.name) form.append('name', extra.name);
        if (extra.email) form.append('email', extra.email);
        form.append('file', picked);
        message = await call('POST', '/messages', null, form);
      } else {
        message = await call('POST', '/messages', { client_id: clientID, text: body, ...extra });
      }
      state.pending.delete(clientID);
      message.client_id = clientID;
      upsert(message);
    } catch (failure) {
      failed(clientID, failure.message);
    }
  }

  function markRead() {
    if (panel.hidden || document.hidden || !state.session) return;
    const unread = [...state.messages.values()].some((m) => m.from === 'team' && m.status !== 'read');
    if (!unread || Date.now() - state.lastRead < 1500) return;
    state.lastRead = Date.now();
    for (const m of state.messages.values()) if (m.from === 'team') m.status = 'read';
    if (state.socket?.readyState === 1) state.socket.send('{"type":"read"}'); else call('POST', '/read').catch(() => {});
    showUnread();
  }

  // ------------------------------------------------------------------------------------------- events
  preview.addEventListener('click', () => launcher.click());
  launcher.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    launcher.setAttribute('aria-expanded', String(!panel.hidden));
    launcher.setAttribute('aria-label', say(panel.hidden ? 'open' : 'close'));
    if (!panel.hidden) { (composer.hidden ? prechat.querySelector('input') : text)?.focus(); markRead(); }
    showUnread();
  });
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    text.value = '';
    send(body, null);
  });
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); composer.requestSubmit(); }
  });
  // "Typing" goes out at most every 2 s, and the last keystroke of a burst is never swallowed by that limit.
  function sendTyping() {
    state.typingSoon = null;
    if (!state.session) return;
    state.lastTyping = Date.now();
    if (state.socket?.readyState === 1) state.socket.send('{"type":"typing"}'); else call('POST', '/typing').catch(() => {});
  }
  text.addEventListener('input', () => {
    const wait = 2000 - (Date.now() - state.lastTyping);
    if (wait <= 0) sendTyping(); else if (!state.typingSoon) state.typingSoon = setTimeout(sendTyping, wait);
  });
  file.addEventListener('change', () => {
    const picked = file.files[0];
    file.value = '';
    if (picked) send(text.value.trim(), picked).then(() => { text.value = ''; });
  });
  document.addEventListener('visibilitychange', () => { markRead(); showUnread(); });

  const mount = () => { document.body.append(host); start(); };
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
