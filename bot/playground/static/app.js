// The playground page: shows what GET /api/state says the channel holds, and acts through the
// JSON API. All message HTML is rendered (and escaped) by the server; this file only places it.
"use strict";

const $ = (selector) => document.querySelector(selector);
const messagesEl = $("#messages");
const input = $("#composer-input");
const hint = $("#slash-hint");
const modelSelect = $("#model-select");
const statusEl = $("#bot-status");

let version = 0;
let currentView = "channel";
const rendered = new Map(); // message id -> {el, sig}

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

// --- the channel --------------------------------------------------------------------------------

function timeOf(ts) {
  return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function avatar(user) {
  const el = document.createElement("div");
  el.className = "avatar " + (user.bot ? "bot" : "person");
  el.textContent = user.id === "USLACKBOT" ? "🤖" : user.bot ? "🎨" : user.name.charAt(0).toUpperCase();
  el.setAttribute("aria-hidden", "true");
  return el;
}

function buildMessage(m, grouped) {
  const el = document.createElement("div");
  el.className = "message" + (m.ephemeral ? " ephemeral" : "") + (grouped ? " grouped" : "");
  el.dataset.id = m.id;
  el.dataset.user = m.user.id;
  if (m.images.length) el.classList.add("has-image");
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
    note.textContent = "👁 Only visible to you";
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
  content.innerHTML = m.html; // escaped server-side (bot/playground/channel.py)
  if (m.edited) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "(edited)";
    content.appendChild(edited);
  }
  body.appendChild(content);
  if (m.replies && m.replies.length) {
    // Slack folds a thread behind "N replies"; the playground shows it open, indented.
    const thread = document.createElement("div");
    thread.className = "thread";
    const count = document.createElement("div");
    count.className = "thread-count";
    count.textContent = m.replies.length === 1 ? "1 reply" : `${m.replies.length} replies`;
    thread.appendChild(count);
    let last = null;
    for (const reply of m.replies) {
      const sameAuthor = last !== null && last.user.id === reply.user.id;
      thread.appendChild(buildMessage(reply, sameAuthor));
      last = reply;
    }
    body.appendChild(thread);
  }
  el.appendChild(gutter);
  el.appendChild(body);
  return el;
}

function renderMessages(messages) {
  const nearBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 120;
  const seen = new Set();
  let previous = null;
  let anchor = messagesEl.querySelector(".channel-start");
  for (const m of messages) {
    // Slack groups consecutive messages of one author within a few minutes under one header.
    const grouped = previous !== null && previous.user.id === m.user.id && previous.ephemeral === m.ephemeral
      && parseFloat(m.ts) - parseFloat(previous.ts) < 300;
    const sig = JSON.stringify([m.html, m.edited, grouped, (m.replies || []).map((r) => [r.id, r.html, r.edited])]);
    let entry = rendered.get(m.id);
    if (!entry || entry.sig !== sig) {
      const el = buildMessage(m, grouped);
      if (entry) entry.el.replaceWith(el);
      entry = { el, sig };
      rendered.set(m.id, entry);
    }
    if (anchor.nextSibling !== entry.el) anchor.after(entry.el);
    anchor = entry.el;
    seen.add(m.id);
    previous = m;
  }
  for (const [id, entry] of rendered) {
    if (!seen.has(id)) { entry.el.remove(); rendered.delete(id); }
  }
  if (nearBottom) scrollToBottom();
}

function scrollToBottom() {
  messagesEl.scrollTop = messagesEl.scrollHeight;
}

// Images arrive after their message is laid out; keep the channel pinned to the bottom meanwhile.
messagesEl.addEventListener("load", (event) => {
  if (event.target.tagName === "IMG" && messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 900) {
    scrollToBottom();
  }
}, true);

function renderBot(state) {
  if (!modelSelect.options.length) {
    for (const model of state.models) modelSelect.add(new Option(model, model));
  }
  if (document.activeElement !== modelSelect && !modelSelect.disabled) modelSelect.value = state.model;
  statusEl.className = "bot-status " + state.bot.status;
  statusEl.textContent = state.bot.detail;
}

async function poll() {
  for (;;) {
    try {
      const state = await api("GET", `/api/state?since=${version}`);
      if (state.version !== version) {
        version = state.version;
        renderMessages(state.messages);
        renderBot(state);
        if (currentView === "usage") refreshUsageSoon();
      }
    } catch (error) {
      statusEl.className = "bot-status stopped";
      statusEl.textContent = "the playground is not answering (was it stopped?)";
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

// --- the composer ------------------------------------------------------------------------------

function updateHint() {
  const value = input.value;
  hint.hidden = !(value.startsWith("/") && !value.includes(" ") && "/imagine".startsWith(value));
}

function autosize() {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 200) + "px";
}

async function send() {
  const text = input.value;
  if (!text.trim()) return;
  input.value = "";
  autosize();
  updateHint();
  scrollToBottom();
  try {
    const result = await api("POST", "/api/command", { text });
    if (result.error && result.error !== "invalid_command") toast(`The bot did not answer: ${result.error}`);
  } catch (error) {
    toast(`Could not send: ${error.message}`);
    input.value = text;
  }
}

$("#composer").addEventListener("submit", (event) => { event.preventDefault(); send(); });
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  } else if (event.key === "Tab" && !hint.hidden) {
    event.preventDefault();
    input.value = "/imagine ";
    updateHint();
  }
});
input.addEventListener("input", () => { updateHint(); autosize(); });
hint.addEventListener("click", (event) => {
  const option = event.target.closest("[data-fill]");
  if (!option) return;
  input.value = option.dataset.fill;
  updateHint();
  input.focus();
});

// --- buttons in messages (any Block Kit button the bot sends) -----------------------------------

messagesEl.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action-id]");
  if (!button) return;
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  button.disabled = true;
  button.classList.add("clicked");
  try {
    const result = await api("POST", "/api/action", {
      message_id: button.dataset.messageId,
      action_id: button.dataset.actionId,
      block_id: button.dataset.blockId,
      value: button.dataset.value,
    });
    if (!result.ok) toast(`The bot did not take the click: ${result.error || "HTTP " + result.status}`);
  } catch (error) {
    toast(`Could not click: ${error.message}`);
  } finally {
    setTimeout(() => { button.disabled = false; button.classList.remove("clicked"); }, 800);
  }
});

// --- the model --------------------------------------------------------------------------------

modelSelect.addEventListener("change", async () => {
  const model = modelSelect.value;
  modelSelect.disabled = true;
  statusEl.className = "bot-status starting";
  statusEl.textContent = `restarting the bot with ${model}…`;
  try {
    await api("POST", "/api/model", { model });
  } catch (error) {
    toast(`Could not switch: ${error.message}`);
  } finally {
    modelSelect.disabled = false;
  }
});

// --- views: channel, usage, log ----------------------------------------------------------------

function show(view) {
  currentView = view;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const item of document.querySelectorAll(".nav-item[data-view]")) {
    item.classList.toggle("active", item.dataset.view === view);
  }
  if (view === "usage") refreshUsage();
  if (view === "log") refreshLog();
  if (view === "channel") { scrollToBottom(); input.focus(); }
}

for (const item of document.querySelectorAll(".nav-item[data-view]")) {
  item.addEventListener("click", () => show(item.dataset.view));
}

function cell(row, text, className) {
  const td = document.createElement(row.parentElement && row.parentElement.tagName === "THEAD" ? "th" : "td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
}

async function refreshUsage() {
  const by = $("#usage-by").value;
  const since = $("#usage-since").value;
  try {
    const report = await api("GET", `/api/usage?by=${encodeURIComponent(by)}&since=${encodeURIComponent(since)}`);
    const table = $("#usage-table");
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const title of [by, "images", "failed", "rejected", "requests", "est. cost"]) cell(head, title);
    const tbody = table.createTBody();
    if (!report.rows.length) {
      const row = tbody.insertRow();
      const td = row.insertCell();
      td.colSpan = 6;
      td.className = "empty";
      td.textContent = "No requests yet — try /imagine in #general.";
    }
    for (const r of report.rows) {
      const row = tbody.insertRow();
      cell(row, r.label);
      for (const k of ["images", "failed", "rejected", "requests"]) cell(row, String(r[k]), "num");
      cell(row, "$" + r.cost_usd, "num");
    }
    const foot = table.createTFoot().insertRow();
    cell(foot, "total");
    for (const k of ["images", "failed", "rejected", "requests"]) cell(foot, String(report.totals[k]), "num");
    cell(foot, "$" + report.totals.cost_usd, "num");
    if (report.chart) {
      // The same PNG the App Home shows admins, drawn by the playground from its own database.
      let chart = $("#usage-chart");
      if (!chart) {
        chart = document.createElement("img");
        chart.id = "usage-chart";
        chart.alt = "Images and estimated cost per day over the last 30 days";
        chart.width = 900;
        chart.height = 360;
        chart.style.cssText = "display: block; max-width: 100%; height: auto; margin: 0 0 16px;";
        table.before(chart);
      }
      chart.src = report.chart;
    }
    $("#usage-text").textContent = "$ " + report.command + "\n" + report.table;
    $("#usage-command").textContent = report.command;
    $("#usage-note").textContent = report.chart_note
      || "Costs are the bot's estimates from list prices; the emulated Azure charges nothing.";
  } catch (error) {
    $("#usage-text").textContent = `Could not load the report: ${error.message}`;
  }
}

let usageTimer = null;
function refreshUsageSoon() {
  clearTimeout(usageTimer);
  usageTimer = setTimeout(refreshUsage, 400);
}

async function refreshLog() {
  try {
    const data = await api("GET", "/api/log?lines=300");
    const el = $("#log-text");
    el.textContent = data.log || "(empty)";
    el.scrollTop = el.scrollHeight;
  } catch (error) {
    $("#log-text").textContent = `Could not load the log: ${error.message}`;
  }
}

$("#usage-by").addEventListener("change", refreshUsage);
$("#usage-since").addEventListener("change", refreshUsage);
$("#usage-refresh").addEventListener("click", refreshUsage);
$("#log-refresh").addEventListener("click", refreshLog);

input.focus();
poll();
