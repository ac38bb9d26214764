// The playground page's controls: the composers (and a picture of one's own), the buttons in messages,
// the bot's settings, and the views (channel, App Home, log). Loaded after app.js, before dialogs.js.
"use strict";

// --- composing ------------------------------------------------------------------------------------

const input = $("#composer-input");
const hint = $("#slash-hint");

function updateHint() {
  const value = input.value;
  hint.hidden = !(value.startsWith("/") && !value.includes(" ") && "/imagine".startsWith(value));
}

function autosize(el) {
  el.style.height = "auto";
  el.style.height = Math.min(el.scrollHeight, 200) + "px";
}

async function send(el, threadTs) {
  const text = el.value;
  if (!text.trim()) return;
  el.value = "";
  autosize(el);
  updateHint();
  (threadTs ? $("#thread-messages") : $("#messages")).dataset.pinned = "yes"; // Slack shows what you sent
  try {
    const body = threadTs ? { text, thread_ts: threadTs } : { text };
    failed(await api("POST", "/api/send", body), "Your message");
  } catch (error) {
    toast(`Could not send: ${error.message}`);
    el.value = text;
  }
}

function composer(form, el, threadTs) {
  form.addEventListener("submit", (event) => { event.preventDefault(); send(el, threadTs()); });
  el.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(el, threadTs());
    }
  });
  el.addEventListener("input", () => autosize(el));
}

composer($("#composer"), input, () => null);
composer($("#thread-composer"), $("#thread-input"), () => page.thread);
input.addEventListener("input", updateHint);
input.addEventListener("keydown", (event) => {
  if (event.key === "Tab" && !hint.hidden) {
    event.preventDefault();
    input.value = "/imagine ";
    updateHint();
  }
});
hint.addEventListener("click", () => { input.value = "/imagine "; updateHint(); input.focus(); });

// A picture of one's own, posted with whatever is in the composer as its message.
$("#attach").addEventListener("click", () => $("#attach-input").click());
$("#attach-input").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  const data = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  try {
    await api("POST", "/api/upload", { name: file.name, mimetype: file.type, data, text: input.value.trim() });
    input.value = "";
  } catch (error) {
    toast(`Could not post the picture: ${error.message}`);
  }
});

// --- buttons in messages ----------------------------------------------------------------------------

async function click(button) {
  const message = button.closest(".message");
  if (!message || !message.dataset.key.startsWith("m")) {
    toast("The playground only sends clicks on channel messages.");
    return;
  }
  button.disabled = true;
  try {
    const result = await api("POST", "/api/click", {
      ts: message.dataset.ts, action_id: button.dataset.actionId, value: button.dataset.value,
    });
    failed(result, `“${button.textContent}”`);
  } catch (error) {
    toast(`Could not click: ${error.message}`);
  } finally {
    setTimeout(() => { button.disabled = false; }, 600);
  }
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action-id]");
  if (button && !button.closest("#modal")) {
    if (button.dataset.confirmTitle && !(await confirmDialog(button.dataset))) return; // dialogs.js
    click(button);
    return;
  }
  const link = event.target.closest("a.message-link");
  if (link) {
    event.preventDefault();
    jumpTo(link.getAttribute("href").slice("#msg-".length));
  }
});

function jumpTo(ts) {
  show("channel");
  const root = page.state && page.state.messages.find((m) => m.ts === ts || m.replies.some((r) => r.ts === ts));
  if (root && root.ts !== ts) openThread(root.ts);
  const el = document.getElementById((root && root.ts !== ts ? "thread-msg-" : "msg-") + ts);
  if (el) {
    el.scrollIntoView({ block: "center" });
    el.classList.add("highlight");
    setTimeout(() => el.classList.remove("highlight"), 2000);
  }
}

// --- the bot's settings -------------------------------------------------------------------------------

const modelSelect = $("#model-select");
const reviseSwitch = $("#revise-switch");

function renderBot(state) {
  if (!modelSelect.options.length) {
    for (const model of state.models) modelSelect.add(new Option(model.label, model.name));
  }
  const busy = state.bot.status === "starting";
  if (document.activeElement !== modelSelect) modelSelect.value = state.choice.model;
  reviseSwitch.checked = state.choice.revise_prompts;
  modelSelect.disabled = reviseSwitch.disabled = busy;
  const status = $("#bot-status");
  status.className = "bot-status " + state.bot.status;
  status.textContent = state.bot.detail;
}

async function switchBot(body) {
  modelSelect.disabled = reviseSwitch.disabled = true;
  try {
    await api("POST", "/api/bot", body);
  } catch (error) {
    toast(`Could not restart the bot: ${error.message}`);
  }
}

modelSelect.addEventListener("change", () => switchBot({ model: modelSelect.value }));
reviseSwitch.addEventListener("change", () => switchBot({ revise_prompts: reviseSwitch.checked }));

// --- views: channel, home, log -------------------------------------------------------------------------

function show(view) {
  page.view = view;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const item of document.querySelectorAll(".nav-item[data-view]")) {
    item.classList.toggle("active", item.dataset.view === view);
  }
  $("#thread").hidden = view !== "channel" || !page.thread;
  if (view === "home") openHome(); // dialogs.js
  if (view === "log") refreshLog();
  if (view === "channel") input.focus();
}

for (const item of document.querySelectorAll(".nav-item[data-view]")) {
  item.addEventListener("click", () => show(item.dataset.view));
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

$("#log-refresh").addEventListener("click", refreshLog);
