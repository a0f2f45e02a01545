// The playground page: one chat per simulated person, kept in step with the emulator.
"use strict";

const API = "/playground/api";
const POLL_MS = 700;
const ALLOWED = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "A", "CODE",
  "PRE", "BLOCKQUOTE", "SPAN", "TG-SPOILER", "TG-EMOJI"]);
const TOAST_MS = 2500; // as long as Telegram shows a button's pop-up answer
const rendered = new Map(); // user id -> JSON of the messages last drawn
const answered = new Set(); // callback query ids whose pop-up has been shown
let firstDraw = true; // answers given before the page was opened are not shown again

async function call(path, body) {
  const response = await fetch(API + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// Telegram HTML from the server, reduced to the tags Telegram allows and safe links only.
function safeHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  const walk = (node) => {
    for (const child of [...node.childNodes]) {
      if (child.nodeType === Node.ELEMENT_NODE) {
        if (!ALLOWED.has(child.tagName)) {
          child.replaceWith(document.createTextNode(child.textContent));
          continue;
        }
        for (const attribute of [...child.attributes]) {
          const keep = (child.tagName === "A" && attribute.name === "href" &&
            /^(https?|tg):/i.test(attribute.value)) ||
            (attribute.name === "class" && /^(tg-spoiler|language-[\w-]+)$/.test(attribute.value));
          if (!keep) child.removeAttribute(attribute.name);
        }
        if (child.tagName === "A") { child.target = "_blank"; child.rel = "noopener"; }
        walk(child);
      }
    }
  };
  walk(template.content);
  return template.content;
}

function keyboard(person, message) {
  const box = document.createElement("div");
  box.className = "keyboard";
  for (const row of message.buttons) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      let element;
      if (button.url) {
        element = document.createElement("a");
        element.href = /^https?:/i.test(button.url) ? button.url : "#";
        element.target = "_blank";
        element.rel = "noopener";
        element.className = "url-button";
      } else {
        element = document.createElement("button");
        element.type = "button";
        element.className = "inline-button";
        if (button.data) {
          element.dataset.data = button.data;
          element.addEventListener("click", () =>
            call(`/people/${person.id}/press`, { message_id: message.id, data: button.data })
              .catch((error) => alert(error.message)));
        } else {
          element.disabled = true;
          element.title = "Works in the Telegram app (inline mode)";
        }
      }
      element.textContent = button.text;
      if (button.too_wide) {
        element.classList.add("too-wide");
        element.title = "This label would wrap or be cut off on a 360 px phone";
      }
      line.append(element);
    }
    box.append(line);
  }
  return box;
}

function drawMessages(person, list) {
  const json = JSON.stringify(person.messages);
  if (rendered.get(person.id) === json) return;
  rendered.set(person.id, json);
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...person.messages.map((message) => {
    const item = document.createElement("li");
    item.className = "message " + (message.from_bot ? "bot" : "user");
    item.dataset.messageId = message.id;
    if (message.document_url) { // a file the bot sent: a download, as in Telegram
      const link = document.createElement("a");
      link.className = "media document";
      link.href = message.document_url;
      link.download = message.document || "";
      link.textContent = `📄 ${message.document || "file"}`;
      link.title = "Download";
      item.append(link);
    } else if (message.photo || message.document) {
      const media = document.createElement("span");
      media.className = "media";
      media.textContent = message.photo ? "📷 photo" : `📄 ${message.document}`;
      item.append(media);
    }
    const text = document.createElement("span");
    text.className = "text";
    text.append(safeHtml(message.html));
    item.append(text);
    if (message.edited) {
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = "edited";
      item.append(meta);
    }
    if (message.buttons.length) item.append(keyboard(person, message));
    return item;
  }));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// The bot's pop-up answers to this person's button presses (answerCallbackQuery): a toast
// over the chat that fades, or with show_alert a box that stays until OK, as in Telegram.
function drawAnswers(person, chat) {
  for (const answer of person.answers) {
    if (answered.has(answer.id)) continue;
    answered.add(answer.id);
    if (firstDraw) continue;
    if (answer.show_alert) {
      const dialog = document.getElementById("callback-alert");
      document.getElementById("callback-alert-text").textContent = answer.text;
      dialog.dataset.userId = person.id;
      if (!dialog.open) dialog.showModal();
      continue;
    }
    const toast = chat.querySelector(".toast");
    toast.textContent = answer.text;
    toast.hidden = false;
    toast.classList.remove("fading");
    void toast.offsetWidth; // restart the fade for a second answer in a row
    toast.classList.add("fading");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { toast.hidden = true; }, TOAST_MS);
  }
}

// Ctrl+B and Ctrl+I (⌘ on a Mac) on a selection, as in Telegram Desktop: the selection is
// wrapped in ** or __, which the server sends as a bold or italic entity; again, unwrapped.
function formatSelection(input, marker) {
  const { selectionStart: start, selectionEnd: end, value } = input;
  const before = value.slice(Math.max(0, start - marker.length), start);
  const after = value.slice(end, end + marker.length);
  if (before === marker && after === marker) {
    input.setRangeText(value.slice(start, end), start - marker.length, end + marker.length,
      "select");
  } else {
    input.setRangeText(marker + value.slice(start, end) + marker, start, end, "select");
    input.setSelectionRange(start + marker.length, end + marker.length);
  }
  input.dispatchEvent(new Event("input"));
}

// The bot's command menu for this person, as Telegram's "Menu" button lists it.
function drawCommands(person, menu) {
  const json = JSON.stringify(person.commands);
  if (menu.dataset.commands === json) return; // redrawing would close an open menu
  menu.dataset.commands = json;
  menu.replaceChildren(menu.options[0], ...person.commands.map((command) => {
    const option = document.createElement("option");
    option.value = option.textContent = "/" + command;
    return option;
  }));
}

function chatFor(person) {
  let chat = document.querySelector(`.chat[data-user-id="${person.id}"]`);
  if (chat) return chat;
  chat = document.getElementById("chat-template").content.firstElementChild.cloneNode(true);
  chat.dataset.userId = person.id;
  const flags = [person.language, person.admin ? "admin" : ""].filter(Boolean).join(", ");
  chat.querySelector(".chat-title").textContent = `${person.name} (${flags})`;
  chat.setAttribute("aria-label", `Chat of ${person.name}`);
  const form = chat.querySelector(".composer");
  const input = form.elements.text;
  // A textarea, so that a message can have several lines (a /post with one block per
  // language): Enter sends, as in Telegram, and Shift+Enter starts a new line.
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
    const key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (key === "b" || key === "i")) {
      event.preventDefault();
      formatSelection(input, key === "b" ? "**" : "__");
    }
  });
  const fit = () => { // grow with the text, up to the CSS max-height
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight + 2}px`;
  };
  input.addEventListener("input", fit);
  const commands = form.querySelector(".commands");
  commands.addEventListener("change", () => {
    if (!commands.value) return;
    input.value = commands.value + " ";
    commands.value = "";
    fit();
    input.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    fit();
    call(`/people/${person.id}/send`, { text }).catch((error) => alert(error.message));
  });
  document.getElementById("no-chats").hidden = true;
  document.getElementById("chats").append(chat);
  return chat;
}

function drawPanel(state) {
  const subscribers = Object.entries(state.subscribers);
  document.getElementById("state-subscribers").textContent = subscribers.length
    ? subscribers.map(([language, count]) => `${language} ${count}`).join(", ") : "none";
  document.getElementById("state-raised").textContent = state.raised === null
    ? "Donations are not set up."
    : `${state.raised}${state.goal ? " of " + state.goal : ""} from ${state.donations} donations`;
  const fill = (id, items, draw) => document.getElementById(id).replaceChildren(...items.map(draw));
  fill("state-broadcasts", state.broadcasts, (text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  });
  fill("state-webhooks", state.webhooks, (hook) => {
    const item = document.createElement("li");
    const detail = hook.status ?? hook.error;
    item.textContent = `${hook.type}${hook.resend ? " (resent)" : ""}: ${hook.outcome}` +
      (detail ? ` (${detail})` : "");
    return item;
  });
  fill("state-log", [...state.calls].reverse(), (entry) => {
    const item = document.createElement("li");
    const to = entry.chat_id ? ` → ${entry.chat_id}` : "";
    const outcome = entry.dropped ? "connection dropped" : entry.status;
    item.textContent = `${entry.method}${to}: ${outcome}${entry.description ? " " + entry.description : ""}`;
    if (entry.violation) item.className = "violation";
    else if (entry.status !== 200) item.className = "refused";
    if (entry.too_wide.length) { // Telegram takes it, but a phone would wrap or cut the label
      const badge = document.createElement("span");
      badge.className = "badge too-wide-badge";
      badge.textContent = "⚠ button too wide";
      badge.title = entry.too_wide.join("\n");
      item.append(" ", badge);
      item.classList.add("warned");
    }
    return item;
  });
  document.getElementById("state-violations").textContent = state.violations
    ? `(${state.violations} refused as Telegram would)` : "";
}

async function refresh() {
  try {
    const state = await call("/state");
    for (const person of state.people) {
      const chat = chatFor(person);
      drawMessages(person, chat.querySelector(".messages"));
      drawCommands(person, chat.querySelector(".commands"));
      drawAnswers(person, chat);
    }
    drawPanel(state);
    firstDraw = false;
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

document.getElementById("person-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("person-error");
  error.textContent = "";
  try {
    await call("/people", {
      name: form.elements.name.value,
      language: form.elements.language.value,
      admin: form.elements.admin.checked,
    });
    form.elements.name.value = "";
    form.elements.admin.checked = false;
  } catch (problem) {
    error.textContent = problem.message;
  }
});

for (const [id, action] of [["drop-webhook", "drop_next_webhook"],
  ["resend-webhook", "resend_last_webhook"], ["refund-payment", "refund_last_payment"]]) {
  document.getElementById(id).addEventListener("click", async () => {
    const result = document.getElementById("stripe-result");
    try {
      await call(`/stripe/${action}`, {});
      result.textContent = "Done.";
    } catch (problem) {
      result.textContent = problem.message;
    }
  });
}

refresh();
