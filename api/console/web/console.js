// Collector console. The api holds every fact; this page keeps only the staff token
// (sessionStorage: gone when the tab closes) and what it is showing. All data is put
// into the page with textContent, never as markup.
"use strict";

const API = "/api/v1/console";
const TOKEN_KEY = "console-token";
const SENDER = { borrower: "借款人", bot: "AI助手", agent: "人工客服", system: "系统消息" };
const STATE = { bot: "AI助手处理中", waiting_for_agent: "等待人工", agent: "人工处理中", closed: "已结束" };
const CHANNEL = { web: "网页", wechat: "微信" };

const $ = id => document.getElementById(id);
let me = null;              // {id, display_name}
let current = null;         // conversation id shown
let lastMessageId = 0;      // highest message id shown for `current`
let queueItems = [];
let queueReceivedAt = 0;
let streamController = null;
let streamGeneration = 0;

// ---- small DOM helpers (text only) ----------------------------------------------------
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "on") Object.entries(value).forEach(([ev, fn]) => node.addEventListener(ev, fn));
    else node.setAttribute(key, value);
  }
  children.flat(Infinity).forEach(child => node.append(child instanceof Node ? child : document.createTextNode(String(child))));
  return node;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function dl(pairs) {
  return el("dl", {}, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
}
function localTime(iso) {
  try { return new Date(iso).toLocaleString("zh-CN", { hour12: false }); } catch (e) { return iso; }
}
function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  return h ? `${h}小时${m}分` : m ? `${m}分${s}秒` : `${s}秒`;
}

// ---- api ------------------------------------------------------------------------------
function token() { return sessionStorage.getItem(TOKEN_KEY); }
function authHeaders(extra = {}) { return { ...extra, Authorization: "Bearer " + token() }; }

async function call(method, path, body) {
  const headers = authHeaders(body ? { "Content-Type": "application/json" } : {});
  const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) { logout("登录已过期，请重新登录"); throw new Error("未登录"); }
  return { ok: response.ok, status: response.status, data };
}
function detail(data, fallback) {
  if (typeof data.detail === "string") return data.detail;
  if (Array.isArray(data.detail)) return "输入无效：" + data.detail.map(d => d.msg).join("；");
  return fallback;
}

// ---- login ----------------------------------------------------------------------------
async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const form = new URLSearchParams({ username: $("username").value, password: $("password").value });
  const response = await fetch("/api/v1/auth/token", { method: "POST", body: form });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) { $("login-error").textContent = detail(data, "登录失败"); return; }
  sessionStorage.setItem(TOKEN_KEY, data.access_token);
  $("password").value = "";
  await start();
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (streamController) streamController.abort();
  streamController = null; me = null; current = null;
  $("workspace").hidden = true; $("me").hidden = true; $("login-view").hidden = false;
  $("login-error").textContent = message || "";
}

async function start() {
  if (!token()) return logout();
  const response = await fetch("/api/v1/auth/me", { headers: authHeaders() });
  if (!response.ok) return logout();
  me = await response.json();
  if (!["collector", "admin"].includes(me.role)) return logout("当前账号无权使用坐席工作台");
  $("me-name").textContent = me.display_name + "（" + me.username + "）";
  $("login-view").hidden = true; $("workspace").hidden = false; $("me").hidden = false;
  await refreshQueue();
  openStream();
}

// ---- queue ----------------------------------------------------------------------------
async function refreshQueue() {
  const { ok, data } = await call("GET", API + "/queue");
  if (ok) renderQueue(data.items);
}

function renderQueue(items) {
  queueItems = items; queueReceivedAt = Date.now();
  const list = $("queue");
  clear(list);
  $("queue-count").textContent = String(items.length);
  $("queue-empty").hidden = items.length > 0;
  for (const item of items) {
    const mine = item.claimed_by && me && item.claimed_by.user_id === me.id;
    const holder = item.claimed_by ? (mine ? "由我处理" : "已由 " + item.claimed_by.display_name + " 接入") : "待接入";
    const action = item.claimed_by
      ? el("button", { type: "button", class: "secondary open", text: "查看" })
      : el("button", { type: "button", class: "claim", text: "接入" });
    action.addEventListener("click", event => {
      event.stopPropagation();
      if (item.claimed_by) openConversation(item.conversation_id); else claim(item.conversation_id);
    });
    const li = el("li", {
      class: `queue-item u${item.urgency}` + (item.conversation_id === current ? " selected" : ""),
      "data-conversation-id": item.conversation_id,
      on: { click: () => openConversation(item.conversation_id) },
    },
      el("div", {}, el("span", { class: `urgency u${item.urgency}`, text: item.urgency_label }), " ",
        el("span", { class: "reason", text: item.reason_label })),
      el("div", { class: "meta" },
        el("span", { text: CHANNEL[item.channel] || item.channel }),
        el("span", { text: item.verified ? "已核验身份" : "未核验身份" }),
        el("span", { class: "wait", "data-seconds": String(item.waiting_seconds), text: "已等待 " + duration(item.waiting_seconds) })),
      el("div", { class: "row" }, el("span", { class: "holder", text: holder }), action));
    list.append(li);
  }
}

function tickWaiting() {
  const elapsed = (Date.now() - queueReceivedAt) / 1000;
  document.querySelectorAll(".queue-item .wait").forEach(span => {
    span.textContent = "已等待 " + duration(Number(span.dataset.seconds) + elapsed);
  });
}

async function claim(conversationId) {
  $("action-error").textContent = "";
  const { ok, status, data } = await call("POST", `${API}/conversations/${conversationId}/claim`);
  if (!ok && status === 409) { alertAction(detail(data, "该会话已被接入"), conversationId); return; }
  if (!ok) { alertAction(detail(data, "接入失败"), conversationId); return; }
  await openConversation(conversationId);
}

function alertAction(message, conversationId) {
  if (conversationId && conversationId !== current) openConversation(conversationId).then(() => { $("action-error").textContent = message; });
  else $("action-error").textContent = message;
}

// ---- conversation ---------------------------------------------------------------------
async function openConversation(conversationId) {
  const { ok, data } = await call("GET", `${API}/conversations/${conversationId}`);
  if (!ok) { $("action-error").textContent = detail(data, "无法打开会话"); return; }
  const switched = current !== conversationId;
  current = conversationId;
  renderConversation(data);
  if (switched) { $("guard").hidden = true; $("action-error").textContent = ""; }
  document.querySelectorAll(".queue-item").forEach(li => li.classList.toggle("selected", li.dataset.conversationId === current));
  openStream();
}

function renderConversation(view) {
  $("conversation").hidden = false;
  $("conv-id").textContent = view.conversation_id.slice(0, 8);
  $("conv-channel").textContent = CHANNEL[view.channel] || view.channel;
  renderState(view.state, view.held_by_you);
  clear($("transcript")); lastMessageId = 0;
  appendMessages(view.messages);
  renderContext(view);
  renderNotes(view.notes);
}

function renderState(state, heldByYou) {
  $("conv-state").textContent = STATE[state] || state;
  $("conv-state").dataset.state = state;
  $("claim-open").hidden = state !== "waiting_for_agent";
  $("composer").hidden = !heldByYou;
  $("hand-back").hidden = !heldByYou;
  $("close-box").hidden = !heldByYou;
}

function appendMessages(messages) {
  const list = $("transcript");
  for (const m of messages) {
    if (m.id <= lastMessageId) continue;  // already shown (the stream and a reply can overlap)
    lastMessageId = m.id;
    const who = m.sender === "agent" && m.author_name ? "人工客服 · " + m.author_name : (SENDER[m.sender] || m.sender);
    list.append(el("li", { class: "msg " + m.sender, "data-id": String(m.id) },
      el("span", { class: "who", text: who + " · " + localTime(m.at) }), m.text));
  }
  list.scrollTop = list.scrollHeight;
}

function money(m) { return m ? m.display : ""; }

function renderContext(view) {
  const esc = view.escalations[0];
  clear($("escalation"));
  if (esc) {
    $("escalation").append(dl([
      ["原因", esc.reason_label], ["紧急程度", esc.urgency_label], ["说明", esc.note],
      ["转入时间", localTime(esc.created_at)],
      ["接入人", esc.claimed_by ? esc.claimed_by.display_name : "尚未接入"],
      ["结果", esc.outcome_label],
    ]));
    if (view.escalations.length > 1) {
      $("escalation").append(el("p", { class: "hint", text: `此前还有 ${view.escalations.length - 1} 次转人工记录` }));
    }
  }
  const v = view.verification;
  clear($("verification"));
  $("verification").append(dl([
    ["状态", v.verified ? "已核验" : "未核验（不得透露任何欠款信息）"],
    ["借款人", view.borrower ? view.borrower.full_name : null],
    ["手机", view.borrower ? view.borrower.phone_masked : null],
    ["时区", view.timezone],
    ["核验失败次数", v.failures || null],
    ["锁定至", v.locked_until ? localTime(v.locked_until) : null],
  ]));
  clear($("loans"));
  if (!view.loans.length) $("loans").append(el("p", { class: "empty", text: v.verified ? "无待还借款" : "身份核验后显示" }));
  for (const loan of view.loans) {
    $("loans").append(dl([
      ["合同号", loan.contract_no], ["产品", loan.product_name], ["到期日", loan.due_date],
      ["逾期天数", loan.days_past_due], ["本金", money(loan.principal)], ["利息", money(loan.interest)],
      ["罚息", money(loan.penalty_interest)], ["费用", money(loan.fees)], ["应还合计", money(loan.total_due)],
      ["暂停催收", loan.collection_paused ? "是（不得催收）" : null],
    ]));
  }
  clear($("quotes"));
  if (view.hardship_reason) $("quotes").append(el("p", { text: "困难原因：" + view.hardship_reason }));
  if (!view.quotes.length) $("quotes").append(el("p", { class: "empty", text: "尚未提供方案" }));
  const quoteStatus = { open: "待确认", accepted: "已接受", withdrawn: "已撤回" };
  for (const q of view.quotes) {
    $("quotes").append(el("p", {},
      `${q.name || q.kind_label}：合计 ${money(q.total_repayable)}，综合年化 ${q.annual_cost_display}（${quoteStatus[q.status] || q.status}）`));
  }
  clear($("preferences"));
  const p = view.contact_preferences;
  if (!p) $("preferences").append(el("p", { class: "empty", text: v.verified ? "未设置" : "身份核验后显示" }));
  else $("preferences").append(dl([
    ["不联系单位", p.no_workplace_contact ? "是" : "否"], ["不联系家人", p.no_family_contact ? "是" : "否"],
    ["免打扰时段", p.quiet_start ? `${p.quiet_start}–${p.quiet_end}` : "无"],
    ["已退订渠道", p.opted_out_channels.join("、") || "无"], ["停止一切催收联系", p.stop_all ? "是" : "否"],
  ]));
}

function renderNotes(notes) {
  const list = $("notes");
  clear(list);
  if (!notes.length) list.append(el("li", { class: "empty", text: "暂无备注" }));
  for (const n of notes) {
    list.append(el("li", {}, el("span", { class: "who", text: n.author_name + " · " + localTime(n.created_at) }), n.text));
  }
}

// ---- collector actions ----------------------------------------------------------------
async function send(event) {
  event.preventDefault();
  const text = $("draft").value.trim();
  if (!text || !current) return;
  $("send").disabled = true; $("guard").hidden = true; $("action-error").textContent = "";
  try {
    const { ok, status, data } = await call("POST", `${API}/conversations/${current}/messages`, { text });
    if (ok) { $("draft").value = ""; appendMessages([data.message]); return; }
    if (status === 422 && Array.isArray(data.violations)) { showGuard(data.violations); return; }
    $("action-error").textContent = detail(data, "发送失败");
  } finally {
    $("send").disabled = false;
  }
}

function showGuard(violations) {
  const list = $("guard-list");
  clear(list);
  for (const v of violations) {
    list.append(el("li", {}, el("span", { class: "rule", text: v.rule_id }), ` ${v.reason}（命中：「${v.matched}」）`));
  }
  $("guard").hidden = false;
}

async function handBack() {
  $("action-error").textContent = "";
  const { ok, data } = await call("POST", `${API}/conversations/${current}/hand-back`);
  if (!ok) { $("action-error").textContent = detail(data, "交还失败"); return; }
  await openConversation(current);
}

async function closeConversation() {
  const outcome = $("outcome").value;
  const label = $("outcome").selectedOptions[0].textContent;
  if (!confirm(`确定以「${label}」结束此会话？借款人会收到会话结束的通知。`)) return;
  const { ok, data } = await call("POST", `${API}/conversations/${current}/close`, { outcome });
  if (!ok) { $("action-error").textContent = detail(data, "结束会话失败"); return; }
  await openConversation(current);
}

async function addNote(event) {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text || !current) return;
  const { ok, data } = await call("POST", `${API}/conversations/${current}/notes`, { text });
  if (!ok) { $("action-error").textContent = detail(data, "备注保存失败"); return; }
  $("note-text").value = "";
  const notes = await call("GET", `${API}/conversations/${current}/notes`);
  if (notes.ok) renderNotes(notes.data.notes);
}

// ---- live stream (SSE read through fetch, so the token stays in a header) ----------------
function setLive(on) {
  $("live").textContent = on ? "● 实时更新中" : "● 重新连接中…";
  $("live").classList.toggle("on", on);
}

function openStream() {
  if (streamController) streamController.abort();
  const controller = new AbortController();
  streamController = controller;
  const generation = ++streamGeneration;
  const params = new URLSearchParams();
  if (current) { params.set("conversation_id", current); params.set("after", String(lastMessageId)); }
  readStream(`${API}/stream?${params}`, controller, generation).catch(() => {}).finally(() => {
    if (generation !== streamGeneration || !token()) return;  // replaced or logged out
    setLive(false);
    setTimeout(() => { if (generation === streamGeneration && token()) openStream(); }, 1500);
  });
}

async function readStream(url, controller, generation) {
  const response = await fetch(url, { headers: authHeaders(), signal: controller.signal });
  if (response.status === 401) { logout("登录已过期，请重新登录"); return; }
  if (!response.ok || !response.body) return;
  setLive(true);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (generation === streamGeneration) handleEvent(chunk);
    }
  }
}

function handleEvent(chunk) {
  let event = "message", data = "";
  for (const line of chunk.split("\n")) {
    if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (!data) return;
  const payload = JSON.parse(data);
  if (event === "queue") renderQueue(payload.items);
  else if (event === "messages" && payload.conversation_id === current) {
    appendMessages(payload.messages);
    if ($("conv-state").dataset.state !== payload.state) openConversation(current);  // state changed: re-read
  } else if (event === "notes" && payload.conversation_id === current) renderNotes(payload.notes);
}

// ---- wiring ---------------------------------------------------------------------------
$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", () => logout());
$("composer").addEventListener("submit", send);
$("draft").addEventListener("keydown", event => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("claim-open").addEventListener("click", () => current && claim(current));
$("hand-back").addEventListener("click", handBack);
$("close").addEventListener("click", closeConversation);
$("note-form").addEventListener("submit", addNote);
setInterval(tickWaiting, 1000);
start();
