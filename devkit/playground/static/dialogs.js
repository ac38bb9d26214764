// The playground page's overlays: the bot's modal (views.open), a button's confirm dialog, the image
// viewer, the "⋯" menu of message shortcuts, and the App Home tab. Loaded after app.js.
"use strict";

// --- the modal ------------------------------------------------------------------------------------

function fieldValues(container) {
  const values = {};
  for (const field of container.querySelectorAll("[data-block-id][data-action-id]")) {
    if ("value" in field) values[field.dataset.blockId] = field.value;
  }
  return values;
}

function renderModal(modal) {
  const overlay = $("#modal");
  if (!modal) {
    overlay.hidden = true;
    overlay.dataset.viewId = "";
    return;
  }
  const body = $("#modal-body");
  const fresh = overlay.dataset.viewId !== modal.id;
  if (fresh || body.dataset.html !== modal.html) {
    // The bot's errors arrive as a new rendering of the same view: keep what the person typed.
    const typed = fresh ? {} : fieldValues(body);
    body.innerHTML = modal.html; // escaped server-side
    body.dataset.html = modal.html;
    for (const field of body.querySelectorAll("[data-block-id][data-action-id]")) {
      if (field.dataset.blockId in typed) field.value = typed[field.dataset.blockId];
    }
  }
  $("#modal-title").textContent = modal.title;
  $("#modal-submit").textContent = modal.submit;
  $("#modal-close").textContent = modal.close;
  overlay.dataset.viewId = modal.id;
  if (overlay.hidden) {
    overlay.hidden = false;
    const first = body.querySelector("textarea, input, select");
    if (first) first.focus();
  }
}

// Slack checks required fields itself and sends nothing while one is empty (docs/contracts/slack-client.md §4.6).
function missingRequired(body) {
  let missing = false;
  for (const field of body.querySelectorAll("[data-required='yes']")) {
    const wrapper = field.closest(".bk-input");
    const old = wrapper.querySelector(".bk-error.required");
    if (old) old.remove();
    if (field.value.trim()) continue;
    missing = true;
    const error = document.createElement("div");
    error.className = "bk-error required";
    error.setAttribute("role", "alert");
    error.textContent = "Please complete this required field.";
    field.after(error);
  }
  return missing;
}

$("#modal-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (missingRequired($("#modal-body"))) return;
  const overlay = $("#modal");
  const submit = $("#modal-submit");
  submit.disabled = true;
  try {
    const result = await api("POST", "/api/view", { view_id: overlay.dataset.viewId, fields: fieldValues($("#modal-body")) });
    failed(result, "The dialog");
  } catch (error) {
    toast(`Could not submit: ${error.message}`);
  } finally {
    submit.disabled = false;
  }
});

$("#modal-close").addEventListener("click", async () => {
  const overlay = $("#modal");
  overlay.hidden = true;
  await api("POST", "/api/view/close", { view_id: overlay.dataset.viewId }).catch(() => {});
});

// --- a button's confirm dialog ----------------------------------------------------------------------

function confirmDialog(data) {
  return new Promise((resolve) => {
    const overlay = $("#confirm");
    $("#confirm-title").textContent = data.confirmTitle;
    $("#confirm-text").textContent = data.confirmText || "";
    $("#confirm-yes").textContent = data.confirmYes || "Yes";
    $("#confirm-no").textContent = data.confirmNo || "Cancel";
    overlay.hidden = false;
    const done = (answer) => {
      overlay.hidden = true;
      $("#confirm-yes").onclick = $("#confirm-no").onclick = null;
      resolve(answer);
    };
    $("#confirm-yes").onclick = () => done(true);
    $("#confirm-no").onclick = () => done(false);
    $("#confirm-yes").focus();
  });
}

// --- the image viewer ----------------------------------------------------------------------------------

document.addEventListener("click", (event) => {
  const image = event.target.closest("img.zoomable");
  if (!image || image.closest("#lightbox")) return;
  const box = $("#lightbox");
  $("#lightbox-image").src = image.src;
  $("#lightbox-image").alt = image.alt;
  $("#lightbox-caption").textContent = image.alt;
  box.hidden = false;
});
$("#lightbox").addEventListener("click", () => { $("#lightbox").hidden = true; });
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (!$("#lightbox").hidden || !$("#menu").hidden) {
    $("#lightbox").hidden = true;
    $("#menu").hidden = true;
  } else if (!$("#modal").hidden) {
    $("#modal-close").click(); // Escape closes a modal, as in Slack
  }
});

// --- the "⋯" menu: message shortcuts ----------------------------------------------------------------------

function showMenu(anchor, message) {
  const menu = $("#menu");
  menu.replaceChildren();
  for (const shortcut of message.shortcuts) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = "menu-item";
    item.setAttribute("role", "menuitem");
    item.dataset.callbackId = shortcut.callback_id;
    item.innerHTML = `<span class="menu-label"></span><span class="menu-app">imagine-bot</span>`;
    item.querySelector(".menu-label").textContent = shortcut.label;
    item.addEventListener("click", async () => {
      menu.hidden = true;
      try {
        failed(await api("POST", "/api/shortcut", { ts: message.ts, callback_id: shortcut.callback_id }), shortcut.label);
      } catch (error) {
        toast(`Could not run the shortcut: ${error.message}`);
      }
    });
    menu.appendChild(item);
  }
  const box = anchor.getBoundingClientRect();
  menu.style.top = `${Math.min(box.bottom + 4, window.innerHeight - 120)}px`;
  menu.style.left = `${Math.max(8, box.right - 260)}px`;
  menu.hidden = false;
}

document.addEventListener("mousedown", (event) => {
  const menu = $("#menu");
  if (!menu.hidden && !event.target.closest("#menu") && !event.target.closest(".more-button")) menu.hidden = true;
});

// --- the App Home tab -----------------------------------------------------------------------------------------

async function openHome() {
  try {
    failed(await api("POST", "/api/home", {}), "The Home tab");
  } catch (error) {
    toast(`Could not open the Home tab: ${error.message}`);
  }
}

function renderHome(home) {
  const el = $("#home");
  const html = home ? home.html : "";
  if (!home || el.dataset.html === html) return;
  el.innerHTML = html; // escaped server-side
  el.dataset.html = html;
}

$("#home-refresh").addEventListener("click", openHome);
window.addEventListener("load", () => { input.focus(); poll(); });
