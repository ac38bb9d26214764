// The playground page: shows what GET /api/state says, and acts through the JSON API. Every piece of
// message HTML is rendered and escaped by the server (devkit/playground/blocks.py); this file places it.
// controls.js adds the composers, the clicks and the settings; dialogs.js the modal, the confirm dialog,
// the image viewer, the "⋯" menu and the App Home.
"use strict";

const $ = (selector) => document.querySelector(selector);
const page = {
  state: null,
  version: -1,
  view: "channel",
  thread: null, // the ts of the open thread
  rendered: new Map(), // key -> {el, sig} in the channel
};

// --- talking to the playground ------------------------------------------------------------------

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function toast(text) {
  const el = $("#toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

// What Slack would tell the person when the app did not take an action in time.
function failed(result, what) {
  if (result && !result.ok && result.error && result.error !== "invalid" && result.error !== "invalid_command") {
    toast(`${what}: the app did not answer (${result.error})`);
  }
}

// --- messages -----------------------------------------------------------------------------------

function timeOf(ts) {
  return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

const ICONS = {
  reply: '<svg class="icon" viewBox="0 0 20 20" aria-hidden="true"><path d="M3 4.5A1.5 1.5 0 0 1 4.5 3h11A1.5 1.5 0 0 1 17 4.5v8a1.5 1.5 0 0 1-1.5 1.5H9l-4 3v-3h-.5A1.5 1.5 0 0 1 3 12.5z" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/></svg>',
  eye: '<svg class="icon small" viewBox="0 0 20 20" aria-hidden="true"><path d="M1.5 10S4.5 4.5 10 4.5 18.5 10 18.5 10 15.5 15.5 10 15.5 1.5 10 1.5 10z" fill="none" stroke="currentColor" stroke-width="1.5"/><circle cx="10" cy="10" r="2.6" fill="currentColor"/></svg>',
};

function avatar(user) {
  const el = document.createElement("div");
  el.className = "avatar " + (user.id === "USLACKBOT" ? "slackbot" : user.bot ? "bot" : "person");
  if (user.bot && user.id !== "USLACKBOT") {
    el.innerHTML = '<img src="/static/emoji/art.svg" alt="">';
  } else {
    el.textContent = user.name.charAt(0).toUpperCase();
  }
  el.setAttribute("aria-hidden", "true");
  return el;
}

function hoverBar(m, inThread) {
  const bar = document.createElement("div");
  bar.className = "hover-bar";
  if (m.channel_message && !inThread && !m.tombstone) {
    const reply = document.createElement("button");
    reply.type = "button";
    reply.className = "icon-button reply-button";
    reply.title = "Reply in thread";
    reply.innerHTML = ICONS.reply;
    reply.addEventListener("click", () => openThread(m.ts));
    bar.appendChild(reply);
  }
  if (m.shortcuts.length) {
    const more = document.createElement("button");
    more.type = "button";
    more.className = "icon-button more-button";
    more.title = "More actions";
    more.textContent = "⋯";
    more.addEventListener("click", (event) => showMenu(event.currentTarget, m));
    bar.appendChild(more);
  }
  return bar.childElementCount ? bar : null;
}

function buildMessage(m, grouped, inThread) {
  const el = document.createElement("div");
  el.className = "message" + (m.ephemeral ? " ephemeral" : "") + (grouped ? " grouped" : "")
    + (m.tombstone ? " tombstone-message" : "");
  el.dataset.key = m.key;
  el.dataset.ts = m.ts;
  el.id = (inThread ? "thread-msg-" : "msg-") + m.ts;
  const gutter = document.createElement("div");
  gutter.className = "gutter";
  if (grouped) {
    const t = document.createElement("time");
    t.className = "hover-time";
    t.textContent = timeOf(m.ts);
    gutter.appendChild(t);
  } else {
    gutter.appendChild(avatar(m.user));
  }
  const body = document.createElement("div");
  body.className = "message-body";
  if (m.ephemeral) {
    const note = document.createElement("div");
    note.className = "ephemeral-note";
    note.innerHTML = `${ICONS.eye} Only visible to you`;
    body.appendChild(note);
  }
  if (!grouped) {
    const meta = document.createElement("div");
    meta.className = "meta";
    const name = document.createElement("span");
    name.className = "author";
    name.textContent = m.user.name;
    meta.appendChild(name);
    if (m.user.bot && m.user.id !== "USLACKBOT") {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "APP";
      meta.appendChild(badge);
    }
    const t = document.createElement("time");
    t.textContent = timeOf(m.ts);
    meta.appendChild(t);
    body.appendChild(meta);
  }
  const content = document.createElement("div");
  content.className = "content";
  content.innerHTML = m.html; // escaped server-side
  if (m.edited) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "(edited)";
    content.appendChild(edited);
  }
  body.appendChild(content);
  if (!inThread && m.replies.length) {
    const link = document.createElement("button");
    link.type = "button";
    link.className = "reply-count";
    const last = m.replies[m.replies.length - 1];
    link.innerHTML = `<span class="reply-number"></span><span class="reply-last"></span>`;
    link.querySelector(".reply-number").textContent = m.replies.length === 1 ? "1 reply" : `${m.replies.length} replies`;
    link.querySelector(".reply-last").textContent = `Last reply ${timeOf(last.ts)}`;
    link.addEventListener("click", () => openThread(m.ts));
    body.appendChild(link);
  }
  el.appendChild(gutter);
  el.appendChild(body);
  const bar = hoverBar(m, inThread);
  if (bar) el.appendChild(bar);
  return el;
}

function groupedWith(previous, m) {
  // Slack groups consecutive messages of one author within a few minutes under one header.
  return previous !== null && previous.user.id === m.user.id && previous.ephemeral === m.ephemeral
    && !previous.replies.length && parseFloat(m.ts) - parseFloat(previous.ts) < 300;
}

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 160;
}

// A list follows new messages (and pictures that finish loading) while the person is at its end;
// scrolling up to read stops that until they scroll back down.
function pinned(el) {
  const follow = () => { if (el.dataset.pinned === "yes") el.scrollTop = el.scrollHeight; };
  el.dataset.pinned = "yes";
  el.addEventListener("scroll", () => { el.dataset.pinned = nearBottom(el) ? "yes" : "no"; });
  el.addEventListener("load", follow, true);
  // Messages also grow when the list gets narrower (the thread opens) or a picture is laid out.
  el.resizes = new ResizeObserver(follow);
  el.resizes.observe(el);
}
pinned($("#messages"));
pinned($("#thread-messages"));

function watchSize(list, el) {
  list.resizes.observe(el);
}

function renderChannel(messages) {
  const list = $("#messages");
  const seen = new Set();
  let previous = null;
  let anchor = list.querySelector(".channel-start");
  for (const m of messages) {
    const grouped = groupedWith(previous, m);
    const sig = JSON.stringify([m.html, m.edited, m.tombstone, grouped, m.shortcuts, m.replies.map((r) => r.ts)]);
    let entry = page.rendered.get(m.key);
    if (!entry || entry.sig !== sig) {
      const el = buildMessage(m, grouped, false);
      watchSize(list, el);
      if (entry) { list.resizes.unobserve(entry.el); entry.el.replaceWith(el); }
      entry = { el, sig };
      page.rendered.set(m.key, entry);
    }
    if (anchor.nextSibling !== entry.el) anchor.after(entry.el);
    anchor = entry.el;
    seen.add(m.key);
    previous = m;
  }
  for (const [key, entry] of page.rendered) {
    if (!seen.has(key)) { list.resizes.unobserve(entry.el); entry.el.remove(); page.rendered.delete(key); }
  }
  if (list.dataset.pinned === "yes") list.scrollTop = list.scrollHeight;
}

// --- the thread ----------------------------------------------------------------------------------

function openThread(ts) {
  page.thread = ts;
  $("#thread").hidden = false;
  renderThread(true);
  $("#thread-input").focus();
}

function renderThread(scroll) {
  const panel = $("#thread");
  if (!page.thread || !page.state) { panel.hidden = true; return; }
  const root = page.state.messages.find((m) => m.ts === page.thread);
  if (!root) { page.thread = null; panel.hidden = true; return; }
  const list = $("#thread-messages");
  if (scroll) list.dataset.pinned = "yes";
  const sig = JSON.stringify([root.html, root.replies.map((r) => [r.key, r.html, r.edited])]);
  if (list.dataset.sig !== sig) {
    list.resizes.disconnect();
    list.resizes.observe(list);
    list.replaceChildren(buildMessage(root, false, true));
    const divider = document.createElement("div");
    divider.className = "thread-divider";
    divider.textContent = root.replies.length === 1 ? "1 reply" : `${root.replies.length} replies`;
    list.appendChild(divider);
    let previous = null;
    for (const reply of root.replies) {
      list.appendChild(buildMessage(reply, groupedWith(previous, reply), true));
      previous = reply;
    }
    for (const el of list.children) watchSize(list, el);
    list.dataset.sig = sig;
  }
  if (list.dataset.pinned === "yes") list.scrollTop = list.scrollHeight;
}

$("#thread-close").addEventListener("click", () => { page.thread = null; $("#thread").hidden = true; });

// --- the state, kept live -------------------------------------------------------------------------

function render(state) {
  page.state = state;
  renderChannel(state.messages);
  renderThread(false);
  renderBot(state);
  renderModal(state.modal); // dialogs.js
  renderHome(state.home); // dialogs.js
}

async function poll() {
  for (;;) {
    try {
      const state = await api("GET", `/api/state?since=${page.version}&wait=15`);
      if (state.version !== page.version) {
        page.version = state.version;
        render(state);
      }
    } catch (error) {
      const status = $("#bot-status");
      status.className = "bot-status stopped";
      status.textContent = "the playground is not answering (was it stopped?)";
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}
