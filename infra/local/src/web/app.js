// The sandbox view: polls GET {base}/api/state every second and draws every sandbox, one
// column each (made on first sight, in the order the state lists them).
// Every piece of sandbox text goes into the page through textContent / setAttribute only.
'use strict';
(() => {
  const meta = document.querySelector('meta[name="warroom-base"]');
  const BASE = meta && !meta.content.includes('{{') ? meta.content : location.pathname.replace(/\/+$/, '');
  const POLL_MS = 1000;
  const chatNodes = {};
  const TITLES = { slack: 'Slack workspace', feishu: 'Feishu tenant', dingtalk: 'DingTalk organisation', wecom: 'WeCom corp' };
  let lastState = '';

  // el('div', {class: 'x', text: 'plain text', 'data-testid': 'y', onclick: fn}, ...children)
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  const slug = (s) => String(s || '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

  async function api(path, body) {
    const init = body === undefined
      ? { cache: 'no-store' }
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    const res = await fetch(BASE + path, init);
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const why = data && data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`;
      throw new Error(why);
    }
    return data;
  }

  function notify(text, isError, incidentId) {
    const n = document.getElementById('notice');
    n.hidden = false;
    n.textContent = text;
    n.classList.toggle('error', !!isError);
    if (incidentId) n.setAttribute('data-incident-id', incidentId);
    else n.removeAttribute('data-incident-id');
  }

  // ---- cards ---------------------------------------------------------------------------

  function renderCard(ws, chat, m, node) {
    const c = m.card;
    const status = c.status || '';
    const buttons = [];
    for (const b of c.buttons) {
      const kind = b.style === 'primary' ? 'primary' : b.style === 'danger' ? 'danger' : '';
      const btn = el('button', {
        type: 'button', class: kind, text: b.label || b.action,
        'data-testid': 'btn-' + slug(b.action), 'data-action': b.action,
        onclick: () => click(ws, chat, m, b, node, buttons),
      });
      buttons.push(btn);
    }
    const fields = c.fields.length
      ? el('dl', { class: 'fields' }, c.fields.map((f) => [el('dt', { text: f.label }), el('dd', { text: f.value })]))
      : null;
    const links = c.links.filter((l) => /^https?:\/\//i.test(l.url)).map((l) =>
      el('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer', text: l.label || l.url }));
    return el('div', {
      class: 'card', 'data-testid': 'card', 'data-platform': ws.platform,
      'data-incident-id': c.incident_id, 'data-status': status, 'data-color': c.color,
    },
    el('div', { class: 'card-title', 'data-testid': 'card-title', text: c.title || '(card without a title)' }),
    el('div', { class: 'card-badges' },
      status ? el('span', { class: 'badge status ' + slug(status), 'data-testid': 'card-status', text: status }) : null,
      c.severity ? el('span', { class: 'badge sev ' + slug(c.severity), 'data-testid': 'card-severity', text: c.severity }) : null),
    fields,
    buttons.length ? el('div', { class: 'actions' }, buttons) : null,
    links.length ? el('div', { class: 'card-links' }, links) : null,
    c.note ? el('div', { class: 'card-note', text: c.note }) : null);
  }

  async function click(ws, chat, m, b, node, buttons) {
    buttons.forEach((x) => { x.disabled = true; });
    const user = node.select.value || chat.default_actor || undefined;
    const body = { platform: ws.platform, chat: chat.id, message: m.id, action: b.action, value: b.value, user };
    if (b.action_id) body.action_id = b.action_id;
    try {
      const r = await api('/api/click', body);
      const toast = r.toast ? ` Toast: "${r.toast}".` : '';
      notify(`${b.label} clicked by ${r.user} in ${chat.name}: ${ws.platform} callback delivered to ${r.delivered_to} (HTTP ${r.status}).${toast}`);
    } catch (e) {
      notify(`${b.label} failed: ${e.message}`, true);
      buttons.forEach((x) => { x.disabled = false; });
    }
    refresh();
  }

  // ---- chats ---------------------------------------------------------------------------

  function renderMessage(ws, chat, m, node) {
    const isBot = m.from_bot || (ws.bot && m.author === ws.bot);
    const metaLine = el('div', { class: 'msg-meta' },
      el('span', { class: 'msg-author', text: m.author || '?' }),
      isBot ? el('span', { class: 'badge bot', text: 'bot' }) : null,
      m.edited ? el('span', { class: 'badge', text: 'edited' }) : null,
      m.thread ? el('span', { class: 'badge', text: 'in thread' }) : null);
    const body = m.card ? renderCard(ws, chat, m, node) : el('div', { class: 'msg-text', text: m.text });
    return el('div', { class: 'msg', 'data-testid': 'message', 'data-message-id': m.id }, metaLine, body);
  }

  function renderHead(ws, chat) {
    const prefix = ws.platform === 'slack' ? '#' : '';
    const chips = chat.members.map((id) =>
      el('span', { class: 'chip' + (id === ws.bot ? ' bot' : ''), title: id === ws.bot ? 'the app\'s bot' : 'member', text: id }));
    const bots = chat.bots.map((id) => el('span', { class: 'chip bot', title: 'bot (app)', text: id }));
    return [
      el('div', {},
        el('span', { class: 'chat-name', 'data-testid': 'chat-name', text: prefix + chat.name }),
        el('span', { class: 'badge' + (chat.private ? ' private' : '') , text: chat.private ? 'private' : 'public' }),
        chat.closed ? el('span', { class: 'badge closed', 'data-testid': 'chat-closed', text: chat.closed }) : null),
      chat.topic ? el('div', { class: 'chat-topic', text: chat.topic }) : null,
      el('div', { class: 'members', 'data-testid': 'members' },
        el('span', { class: 'label', text: `Members (${chat.members.length + chat.bots.length}):` }), chips, bots),
    ].filter(Boolean);
  }

  function makeChat(ws, chat) {
    const node = {};
    node.head = el('div', { class: 'chat-head' });
    node.msgs = el('div', { class: 'messages' });
    node.select = el('select', { 'aria-label': 'act as', 'data-testid': 'act-as' });
    node.input = el('input', { type: 'text', placeholder: 'Write as this person (e.g. "ack")', 'aria-label': 'message' });
    node.mention = el('input', { type: 'checkbox' });
    node.send = el('button', { type: 'submit', text: 'Send' });
    node.form = el('form', { class: 'say', onsubmit: (e) => { e.preventDefault(); say(ws, chat.id, node); } },
      el('label', {}, 'Act as', node.select), node.input, el('label', {}, node.mention, '@bot'), node.send);
    // `#chat-{id}`: the link a war room's "View War Room" opens (the bundle's chat_links).
    node.root = el('article', { class: 'chat', id: 'chat-' + chat.id, 'data-testid': 'chat', 'data-platform': ws.platform, 'data-chat-id': chat.id },
      node.head, node.msgs, node.form);
    return node;
  }

  function updateChat(ws, chat, node) {
    const key = JSON.stringify([ws.bot, chat]);
    if (node.key === key) return;
    node.key = key;
    node.chat = chat;
    node.root.classList.toggle('closed', !!chat.closed);
    node.head.replaceChildren(...renderHead(ws, chat));
    const people = chat.members.filter((id) => id !== ws.bot);
    const chosen = node.select.value;
    node.select.replaceChildren(...people.map((id) => el('option', { value: id, text: id })));
    node.select.value = people.includes(chosen) ? chosen : (chat.default_actor || people[0] || '');
    [node.select, node.input, node.mention, node.send].forEach((x) => { x.disabled = !!chat.closed || !people.length; });
    const atBottom = node.msgs.scrollHeight - node.msgs.scrollTop - node.msgs.clientHeight < 40;
    const msgs = chat.messages.length
      ? chat.messages.map((m) => renderMessage(ws, chat, m, node))
      : [el('div', { class: 'no-msgs', text: chat.closed ? 'No history.' : 'No messages yet.' })];
    node.msgs.replaceChildren(...msgs);
    if (atBottom) node.msgs.scrollTop = node.msgs.scrollHeight;
  }

  async function say(ws, chatId, node) {
    const text = node.input.value.trim();
    if (!text) return;
    node.send.disabled = true;
    try {
      const r = await api('/api/say', { platform: ws.platform, chat: chatId, text, user: node.select.value || undefined, mention: node.mention.checked });
      node.input.value = '';
      notify(`${r.user} wrote in ${node.chat.name}: message event delivered to ${r.delivered_to} (HTTP ${r.status}).`);
    } catch (e) {
      notify(`Sending failed: ${e.message}`, true);
    } finally {
      node.send.disabled = false;
    }
    refresh();
  }

  function column(platform) {
    let col = document.getElementById('col-' + platform);
    if (col) return col;
    const title = TITLES[platform] || platform;
    col = el('section', { class: 'column', id: 'col-' + platform, 'data-testid': 'column-' + platform, 'aria-labelledby': 'h-' + platform },
      el('h2', { id: 'h-' + platform }, title + ' ', el('span', { class: 'ws-id', 'data-field': 'ws-id' })),
      el('div', { class: 'chats', 'data-field': 'chats' }));
    document.getElementById('columns').append(col);
    chatNodes[platform] = new Map();
    return col;
  }

  function renderWorkspace(ws) {
    const col = column(ws.platform);
    col.querySelector('[data-field="ws-id"]').textContent = ws.id ? `(${ws.id})` : '';
    const list = col.querySelector('[data-field="chats"]');
    const nodes = chatNodes[ws.platform];
    const chats = ws.chats.slice().reverse(); // newest first
    if (!chats.length) {
      nodes.clear();
      list.replaceChildren(el('div', { class: 'empty', text: 'No chats yet. Fire a sample incident to open a war room.' }));
      return;
    }
    const seen = new Set();
    const ordered = chats.map((chat) => {
      seen.add(chat.id);
      let node = nodes.get(chat.id);
      if (!node) { node = makeChat(ws, chat); nodes.set(chat.id, node); }
      updateChat(ws, chat, node);
      return node.root;
    });
    for (const id of [...nodes.keys()]) if (!seen.has(id)) nodes.delete(id);
    const current = [...list.children];
    if (current.length !== ordered.length || current.some((c, i) => c !== ordered[i])) list.replaceChildren(...ordered);
  }

  // ---- polling -------------------------------------------------------------------------

  async function refresh() {
    const live = document.getElementById('live');
    try {
      const s = await api('/api/state');
      live.textContent = 'live · ' + new Date().toLocaleTimeString();
      live.classList.remove('down');
      const key = JSON.stringify(s);
      if (key !== lastState) {
        lastState = key;
        (s.workspaces || [s.slack, s.feishu]).forEach(renderWorkspace);
        showLinkedChat();
      }
    } catch (e) {
      live.textContent = 'disconnected: ' + e.message;
      live.classList.add('down');
    }
  }

  // The chats are drawn after the page loads, so the browser's own jump to `#chat-…`
  // finds nothing: do it once the chat exists, and mark it.
  let linkedShown = false;
  function showLinkedChat() {
    if (linkedShown || !location.hash.startsWith('#chat-')) return;
    const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    linkedShown = true;
    target.classList.add('linked');
    target.setAttribute('aria-current', 'true');
    target.scrollIntoView({ block: 'start' });
  }

  function loop() {
    refresh().finally(() => setTimeout(loop, POLL_MS));
  }

  // ---- where war rooms open -------------------------------------------------------------

  const roomsOn = document.getElementById('war-room-on');

  async function loadIntegrations() {
    try {
      const r = await api('/api/integrations');
      const on = r.integrations.find((i) => i.war_room_enabled);
      roomsOn.replaceChildren(
        on ? null : el('option', { value: '', text: '(nowhere)' }),
        ...r.integrations.map((i) => el('option', { value: i.id, text: `${i.name} (${i.platform})` })));
      roomsOn.value = on ? on.id : '';
    } catch (e) {
      roomsOn.replaceChildren(el('option', { value: '', text: 'unavailable' }));
      roomsOn.disabled = true;
    }
  }

  roomsOn.addEventListener('change', async () => {
    const choice = roomsOn.selectedOptions[0];
    roomsOn.disabled = true;
    try {
      await api('/api/war-room', { integration_id: roomsOn.value });
      notify(`New war rooms open on ${choice.textContent}. Fire a sample incident to see one.`);
    } catch (e) {
      notify('Could not move war rooms: ' + e.message, true);
    } finally {
      roomsOn.disabled = false;
      loadIntegrations();
    }
  });

  document.getElementById('fire').addEventListener('click', async (ev) => {
    const button = ev.currentTarget;
    button.disabled = true;
    try {
      const r = await api('/api/fire', {});
      notify(`Fired sample incident ${r.source_id}: incident ${r.incident_id} (HTTP ${r.status}). Its war room opens in a moment.`, false, r.incident_id);
    } catch (e) {
      notify('Could not fire the sample incident: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
    refresh();
  });

  loadIntegrations();
  loop();
})();
