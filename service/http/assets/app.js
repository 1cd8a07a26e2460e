// fedwall review page. Vanilla JS, no dependencies.
//
// Safety rule of this file: data from the server (and above all from flagged posts) only ever
// reaches the DOM through textContent, createElement and setAttribute('href') on URLs that
// are http(s). Nothing here uses innerHTML, insertAdjacentHTML, document.write or eval.
'use strict';

const state = {
  flags: [],          // the queue as listed
  selected: -1,       // index into flags
  nextPageToken: '',
  detail: null,       // the selected flag's detail (GET /api/flags/{id})
  busy: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (key === 'className') node.className = value;
      else if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

// Only absolute http(s) URLs become links (the server already filters; this is a second gate).
function safeHref(url) {
  if (typeof url !== 'string' || url.length > 2048) return null;
  let parsed;
  try { parsed = new URL(url); } catch (e) { return null; }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
}

function link(text, url) {
  const href = safeHref(url);
  if (!href) return document.createTextNode(text);
  return el('a', { href, rel: 'noopener noreferrer nofollow', target: '_blank', text });
}

function setStatus(text) { $('status-line').textContent = text; }

async function api(path, options = {}) {
  const init = { method: options.method || 'GET', credentials: 'same-origin', headers: {} };
  if (init.method !== 'GET') {
    init.headers['X-Fedwall-Request'] = '1';
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body || {});
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (response.status === 401 && !options.login) {
    showLogin('Your session ended; log in again.');
    throw new Error('not logged in');
  }
  if (!response.ok) {
    throw new Error((data && typeof data.error === 'string') ? data.error : `HTTP ${response.status}`);
  }
  return data;
}

// ---- login ----------------------------------------------------------------------------------

function showLogin(message) {
  $('review').hidden = true;
  $('logout').hidden = true;
  $('help-button').hidden = true;
  $('moderator-box').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').focus();
}

function showReview() {
  $('login').hidden = true;
  $('review').hidden = false;
  $('logout').hidden = false;
  $('help-button').hidden = false;
  $('moderator-box').hidden = false;
}

async function login(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  $('login-error').textContent = '';
  try {
    await api('/login', { method: 'POST', body: { token }, login: true });
  } catch (e) {
    $('login-error').textContent = `Login failed: ${e.message}`;
    $('token').select();
    return;
  }
  $('token').value = '';
  showReview();
  await loadQueue(true);
}

async function logout() {
  try { await api('/logout', { method: 'POST', login: true }); } catch (e) { /* shown below */ }
  state.flags = [];
  state.selected = -1;
  showLogin('Logged out.');
}

// ---- queue ----------------------------------------------------------------------------------

function filterQuery(pageToken) {
  const params = new URLSearchParams();
  params.set('status', $('filter-status').value);
  const rule = $('filter-rule').value.trim();
  const domain = $('filter-domain').value.trim();
  if (rule) params.set('rule', rule);
  if (domain) params.set('domain', domain);
  if (pageToken) params.set('page_token', pageToken);
  return params.toString();
}

async function loadQueue(reset) {
  let data;
  try {
    data = await api(`/api/flags?${filterQuery(reset ? '' : state.nextPageToken)}`);
  } catch (e) {
    setStatus(`Could not list flags: ${e.message}`);
    return;
  }
  if (reset) {
    state.flags = [];
    state.selected = -1;
  }
  state.flags.push(...data.flags);
  state.nextPageToken = data.next_page_token || '';
  renderQueue();
  if (reset) {
    if (state.flags.length > 0) await select(0);
    else renderDetail(null);
  }
  setStatus(`${state.flags.length}${state.nextPageToken ? '+' : ''} flag(s)`);
}

function renderQueue() {
  const list = $('queue-list');
  list.replaceChildren();
  state.flags.forEach((flag, index) => {
    const item = el('li', { 'data-id': flag.id },
      el('div', { className: 'q-top' },
        el('span', { className: 'mono', text: `#${flag.id}` }),
        el('span', { className: `badge ${flag.status}`, text: flag.status })),
      el('div', { className: 'mono', text: flag.actor_domain || flag.actor || '(no actor)' }),
      el('div', { className: 'q-rules', text: (flag.rules || []).join(', ') }));
    if (index === state.selected) item.classList.add('selected');
    item.addEventListener('click', () => select(index));
    list.append(item);
  });
  $('queue-empty').hidden = state.flags.length > 0;
  $('more').hidden = !state.nextPageToken;
}

async function select(index) {
  if (index < 0 || index >= state.flags.length) return;
  state.selected = index;
  renderQueue();
  const item = $('queue-list').children[index];
  if (item) item.scrollIntoView({ block: 'nearest' });
  const id = state.flags[index].id;
  try {
    const detail = await api(`/api/flags/${encodeURIComponent(id)}`);
    if (state.flags[state.selected] && state.flags[state.selected].id === id) renderDetail(detail);
  } catch (e) {
    setStatus(`Could not load flag ${id}: ${e.message}`);
  }
}

// ---- detail ---------------------------------------------------------------------------------

function renderPost(post) {
  const box = $('post');
  box.replaceChildren();
  if (post.error) {
    box.append(el('p', { className: 'error', text: post.error }));
    return;
  }
  if (post.summary) box.append(el('div', { className: 'cw', 'data-field': 'summary', text: `CW: ${post.summary}` }));
  if (post.name) box.append(el('div', { className: 'title', 'data-field': 'name', text: post.name }));
  const content = el('div', { className: 'content', 'data-field': 'content' });
  for (const paragraph of post.paragraphs || []) {
    const p = el('p');
    for (const run of paragraph) {
      if (run.br) p.append(el('br'));
      else if (typeof run.href === 'string') p.append(link(run.text, run.href));
      else p.append(document.createTextNode(run.text));
    }
    content.append(p);
  }
  box.append(content);
  if ((post.attachments || []).length > 0) {
    const list = el('ul', { className: 'attachments' });
    for (const a of post.attachments) {
      const label = `${a.media_type || 'attachment'}${a.name ? `: ${a.name}` : ''}`;
      list.append(el('li', null, a.url ? link(label, a.url) : `${label} (no usable URL)`));
    }
    box.append(el('div', { className: 'note', text: 'Media (links only, not loaded):' }), list);
  }
  const notes = [];
  if (post.sensitive) notes.push('marked sensitive');
  if (post.truncated) notes.push('cut at the page\'s length limit');
  if (post.type) notes.push(`type ${post.type}`);
  const footer = el('div', { className: 'note' }, notes.join(' · '));
  if (post.url) footer.append(' · ', link('original', post.url));
  box.append(footer);
}

// Wraps each occurrence of `needle` (case-insensitive) in the text nodes under `root` in <mark>.
function highlight(root, needle) {
  if (!needle) return;
  const lowerNeedle = needle.toLowerCase();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    if (node.parentNode && node.parentNode.nodeName === 'MARK') continue;
    const text = node.nodeValue;
    const lower = text.toLowerCase();
    if (lower.length !== text.length) continue;  // case mapping changed lengths: skip
    let from = 0;
    let at = lower.indexOf(lowerNeedle, from);
    if (at < 0) continue;
    const parts = document.createDocumentFragment();
    while (at >= 0) {
      if (at > from) parts.append(document.createTextNode(text.slice(from, at)));
      parts.append(el('mark', { text: text.slice(at, at + needle.length) }));
      from = at + needle.length;
      at = lower.indexOf(lowerNeedle, from);
    }
    if (from < text.length) parts.append(document.createTextNode(text.slice(from)));
    node.parentNode.replaceChild(parts, node);
  }
}

function renderDetail(detail) {
  state.detail = detail;
  $('detail-empty').hidden = !!detail;
  $('detail-body').hidden = !detail;
  $('action-error').textContent = '';
  if (!detail) return;
  const { flag, post, domain } = detail;
  $('d-id').textContent = `#${flag.id}`;
  $('d-status').textContent = flag.status;
  $('d-status').className = `badge ${flag.status}`;
  $('d-score').textContent = String(flag.score);
  $('d-created').textContent = flag.created_at;
  $('d-actor').replaceChildren(flag.actor ? link(flag.actor, flag.actor) : document.createTextNode('(unknown)'));
  $('d-domain').textContent = domain.domain || flag.actor_domain || '(none)';
  const ds = $('d-domain-status');
  if (domain.blocked) {
    const where = domain.covering_domain && domain.covering_domain !== domain.domain ? ` via ${domain.covering_domain}` : '';
    ds.textContent = `blocked: ${domain.severity}${where} (${domain.source})`;
    ds.className = 'badge blocked';
  } else {
    ds.textContent = domain.domain ? 'not blocked' : '';
    ds.className = 'badge clear';
  }
  $('d-resolved').textContent = flag.resolved_at
    ? `${flag.status} by ${flag.moderator || '?'} at ${flag.resolved_at}${flag.note ? ` (note: ${flag.note})` : ''}`
    : '';
  // A delivery the inbox gateway holds: approving delivers it, before its deadline only.
  const held = flag.held;
  $('d-held').textContent = !held ? ''
    : held.state === 'held'
      ? `Held by the gateway: approve before ${held.deliver_before} to deliver it (after that, the sender's signature is too old)`
      : `Held delivery: ${held.state}${held.detail ? ` (${held.detail})` : ''}`;
  renderPost(post);

  const rules = $('d-rules');
  rules.replaceChildren();
  for (const match of flag.matches || []) {
    const item = el('li', null,
      el('code', { text: match.rule_id }), ` ${match.reason}`,
      match.score ? ` (score ${match.score})` : '', match.monitor ? ' [monitor]' : '');
    const evidence = el('ul', { className: 'evidence' });
    for (const e of match.evidence || []) {
      evidence.append(el('li', null, `${e.field}: `, el('mark', { text: e.text })));
      if (e.end > e.start) {
        const target = $('post').querySelector(`[data-field="${e.field === 'summary' || e.field === 'name' ? e.field : 'content'}"]`);
        highlight(target || $('post'), e.text);
      }
    }
    item.append(evidence);
    rules.append(item);
  }
  if ((flag.matches || []).length === 0) rules.append(el('li', { className: 'muted', text: '(none stored)' }));
}

// ---- actions --------------------------------------------------------------------------------

async function resolve(resolution, blockDomain) {
  if (!state.detail || state.busy) return;
  const flag = state.detail.flag;
  state.busy = true;
  for (const id of ['approve', 'remove', 'remove-block']) $(id).disabled = true;
  $('action-error').textContent = '';
  try {
    const result = await api(`/api/flags/${encodeURIComponent(flag.id)}/resolve`, {
      method: 'POST',
      body: { resolution, block_domain: blockDomain, note: $('note').value, moderator: moderatorName() },
    });
    $('note').value = '';
    setStatus(`#${flag.id} ${result.flag.status}${blockDomain ? `, ${result.domain.domain} blocked` : ''}`);
    const index = state.flags.findIndex((f) => f.id === flag.id);
    const filter = $('filter-status').value;
    if (index >= 0 && filter !== 'all' && filter !== result.flag.status) {
      state.flags.splice(index, 1);  // it left the filtered queue
      if (state.flags.length === 0) {
        state.selected = -1;
        renderQueue();
        renderDetail(null);
        if (state.nextPageToken) await loadQueue(true);
      } else {
        await select(Math.min(index, state.flags.length - 1));
      }
    } else if (index >= 0) {
      state.flags[index] = { ...state.flags[index], status: result.flag.status };
      await select(index);
    }
  } catch (e) {
    $('action-error').textContent = `Not done: ${e.message}`;
  } finally {
    state.busy = false;
    for (const id of ['approve', 'remove', 'remove-block']) $(id).disabled = false;
  }
}

function moderatorName() {
  const name = $('moderator').value.trim();
  return name || 'web';
}

// ---- keyboard -------------------------------------------------------------------------------

function toggleHelp(show) {
  $('help').hidden = show === undefined ? !$('help').hidden : !show;
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement && document.activeElement.tagName);
  if (event.key === 'Escape') {
    if (typing) document.activeElement.blur();
    toggleHelp(false);
    return;
  }
  if (typing || $('review').hidden) return;
  switch (event.key) {
    case 'j': select(Math.min(state.selected + 1, state.flags.length - 1)); break;
    case 'k': select(Math.max(state.selected - 1, 0)); break;
    case 'a': resolve('approve', false); break;
    case 'r': resolve('remove', false); break;
    case 'b': resolve('remove', true); break;
    case 'n': $('note').focus(); break;
    case '?': toggleHelp(); break;
    default: return;
  }
  event.preventDefault();
}

// ---- start ----------------------------------------------------------------------------------

async function start() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('help-button').addEventListener('click', () => toggleHelp());
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); loadQueue(true); });
  $('more').addEventListener('click', () => loadQueue(false));
  $('approve').addEventListener('click', () => resolve('approve', false));
  $('remove').addEventListener('click', () => resolve('remove', false));
  $('remove-block').addEventListener('click', () => resolve('remove', true));
  const moderator = $('moderator');
  moderator.value = localStorage.getItem('fedwall.moderator') || 'web';
  moderator.addEventListener('change', () => localStorage.setItem('fedwall.moderator', moderatorName()));
  document.addEventListener('keydown', onKey);
  let session = { logged_in: false };
  try { session = await api('/api/session', { login: true }); } catch (e) { /* not logged in */ }
  if (session.logged_in) {
    showReview();
    await loadQueue(true);
  } else {
    showLogin('');
  }
}

document.addEventListener('DOMContentLoaded', start);
