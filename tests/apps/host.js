// The Host side of MCP Apps (ext-apps specification 2026-01-26) for the browser tests: opens a view
// the way a chat client does after a tool call, and speaks JSON-RPC 2.0 over postMessage to it.
// The MCP server is reached through the test's proxy (POST /rpc), an MCP SDK client session.
"use strict";

const PROTOCOL_VERSION = "2026-01-26";
const APP_MIME = "text/html;profile=mcp-app";
// What a View may ask of the host (the spec's "Standard MCP Messages" and the ui/ requests).
const PROXIED = new Set(["tools/call", "resources/read"]);

const host = {
  log: [],        // every message, in and out: {dir, msg}
  refused: [],    // requests the host turned down: {method, params, reason}
  links: [],      // ui/open-link urls
  downloads: [],  // ui/download-file contents (the draft spec's host-mediated download)
  initialized: false,
  context: null,
  frame: null,
  tools: new Map(), // name -> Tool, from tools/list
};
window.host = host;

async function rpc(method, params) {
  const r = await fetch("/rpc", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ method, params }),
  });
  const body = await r.json();
  if (body.error) {
    const e = new Error(body.error.message);
    e.rpc = body.error;
    throw e;
  }
  return body.result;
}

async function listTools() {
  let cursor;
  do {
    const page = await rpc("tools/list", cursor ? { cursor } : {});
    for (const t of page.tools) host.tools.set(t.name, t);
    cursor = page.nextCursor;
  } while (cursor);
}

function visibility(tool) {
  return (tool._meta && tool._meta.ui && tool._meta.ui.visibility) || ["model", "app"];
}

// The spec's CSP for a view, built from the resource's _meta.ui.csp (restrictive when absent).
function cspFor(csp) {
  const list = (xs) => (xs && xs.length ? xs.join(" ") : "");
  const res = list(csp && csp.resourceDomains);
  const rules = [
    "default-src 'none'",
    `script-src 'self' 'unsafe-inline' ${res}`,
    `style-src 'self' 'unsafe-inline' ${res}`,
    `connect-src 'self' ${list(csp && csp.connectDomains)}`,
    `img-src 'self' data: ${res}`,
    `font-src 'self' ${res}`,
    `media-src 'self' data: ${res}`,
    `frame-src ${list(csp && csp.frameDomains) || "'none'"}`,
    "object-src 'none'",
    `base-uri ${list(csp && csp.baseUriDomains) || "'self'"}`,
  ];
  return rules.map((r) => r.trim()).join("; ");
}

function withCsp(html, policy) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy.replace(/"/g, "&quot;")}">`;
  const head = /<head(\s[^>]*)?>/i.exec(html);
  if (head) return html.slice(0, head.index + head[0].length) + meta + html.slice(head.index + head[0].length);
  return meta + html;
}

function send(msg) {
  host.log.push({ dir: "out", msg });
  host.frame.contentWindow.postMessage(msg, "*");
}
const notify = (method, params) => send({ jsonrpc: "2.0", method, params });
const reply = (id, result) => send({ jsonrpc: "2.0", id, result });
const fail = (id, code, message) => send({ jsonrpc: "2.0", id, error: { code, message } });

function refuse(msg, reason, code = -32601) {
  host.refused.push({ method: msg.method, params: msg.params, reason });
  if (msg.id !== undefined) fail(msg.id, code, reason);
}

async function onRequest(msg, opened) {
  const { id, method, params } = msg;
  switch (method) {
    case "ui/initialize":
      return reply(id, {
        protocolVersion: PROTOCOL_VERSION,
        hostInfo: { name: "runway-test-host", version: "1.0.0" },
        hostCapabilities: {
          openLinks: {},
          serverTools: {},
          serverResources: {},
          logging: {},
          // The draft spec's ui/download-file: a sandboxed frame cannot download by itself.
          downloadFile: {},
          sandbox: { csp: opened.csp || {}, permissions: opened.permissions || {} },
        },
        hostContext: host.context,
      });
    case "ping":
      return reply(id, {});
    case "ui/open-link":
      host.links.push(params && params.url);
      return reply(id, {});
    case "ui/download-file":
      host.downloads.push(params && params.contents);
      return reply(id, {});
    case "ui/request-display-mode":
      return reply(id, { mode: host.context.displayMode });
    case "ui/message":
    case "ui/update-model-context":
      return reply(id, {});
  }
  if (!host.initialized) return refuse(msg, `${method} before ui/notifications/initialized`, -32002);
  if (!PROXIED.has(method)) return refuse(msg, `Method not found: ${method}`);
  if (method === "tools/call") {
    const tool = host.tools.get(params && params.name);
    if (!tool) return refuse(msg, `Unknown tool: ${params && params.name}`, -32602);
    if (!visibility(tool).includes("app")) {
      return refuse(msg, `Tool ${tool.name} is not callable by apps (visibility ${visibility(tool)})`, -32602);
    }
  }
  try {
    reply(id, await rpc(method, params));
  } catch (e) {
    fail(id, (e.rpc && e.rpc.code) || -32603, e.message);
  }
}

function onNotification(msg, opened) {
  switch (msg.method) {
    case "ui/notifications/initialized":
      if (host.initialized) return;
      host.initialized = true;
      // Nothing goes to the view before this; then the call that opened it, input first.
      notify("ui/notifications/tool-input", { arguments: opened.arguments });
      notify("ui/notifications/tool-result", opened.result);
      return;
    case "ui/notifications/size-changed":
      if (msg.params && msg.params.height) host.frame.style.height = `${Math.ceil(msg.params.height)}px`;
      return;
  }
}

// Opens the view of a tool call: calls the tool through the server, reads its ui:// resource and
// shows it in a sandboxed frame. Resolves once the frame exists (not when the view is ready).
host.open = async function ({ tool, arguments: args = {}, theme = "light" }) {
  await listTools();
  const t = host.tools.get(tool);
  if (!t) throw new Error(`no tool ${tool}`);
  const uri = t._meta && t._meta.ui && t._meta.ui.resourceUri;
  if (!uri) throw new Error(`tool ${tool} has no _meta.ui.resourceUri`);
  const result = await rpc("tools/call", { name: tool, arguments: args });
  const read = await rpc("resources/read", { uri });
  const content = read.contents.find((c) => c.uri === uri);
  if (!content || content.mimeType !== APP_MIME) throw new Error(`${uri}: not served as ${APP_MIME}`);
  const html = content.text !== undefined ? content.text : atob(content.blob);
  const ui = (content._meta && content._meta.ui) || {};
  const opened = { tool, arguments: args, result, csp: ui.csp, permissions: ui.permissions, uri };
  host.opened = opened;
  host.policy = cspFor(ui.csp);
  host.context = {
    theme,
    displayMode: "inline",
    availableDisplayModes: ["inline"],
    containerDimensions: { width: 1000, maxHeight: 4000 },
    locale: "en-US",
    timeZone: "UTC",
    platform: "web",
    userAgent: "runway-test-host",
    toolInfo: { tool: t },
  };
  document.body.classList.toggle("dark", theme === "dark");
  document.getElementById("opened").textContent = `${tool} → ${uri}`;

  const frame = document.createElement("iframe");
  frame.id = "frame";
  frame.title = "MCP App";
  frame.setAttribute("sandbox", "allow-scripts");
  // The permissions the resource asks for, as the spec maps them to the frame's allow attribute.
  const features = { camera: "camera", microphone: "microphone", geolocation: "geolocation",
                     clipboardWrite: "clipboard-write" };
  host.allow = Object.keys(features).filter((k) => ui.permissions && ui.permissions[k]).map((k) => features[k]);
  if (host.allow.length) frame.setAttribute("allow", host.allow.join("; "));
  host.frame = frame;
  window.addEventListener("message", (e) => {
    if (e.source !== frame.contentWindow) return; // only the view speaks to us
    const msg = e.data;
    host.log.push({ dir: "in", msg });
    if (!msg || msg.jsonrpc !== "2.0" || typeof msg.method !== "string") return; // responses: none expected
    if (msg.id !== undefined) onRequest(msg, opened);
    else onNotification(msg, opened);
  });
  frame.srcdoc = withCsp(html, host.policy);
  document.getElementById("view").appendChild(frame);
  return { result, csp: ui.csp };
};

// A change of theme, as a host whose user switched it: ui/notifications/host-context-changed.
host.setTheme = function (theme) {
  host.context.theme = theme;
  document.body.classList.toggle("dark", theme === "dark");
  notify("ui/notifications/host-context-changed", { theme });
};

// What the view asked of the server through the host (tools/call names, resources/read uris).
host.calls = function () {
  return host.log
    .filter((l) => l.dir === "in" && l.msg.id !== undefined && PROXIED.has(l.msg.method))
    .map((l) => ({ method: l.msg.method, name: l.msg.params && l.msg.params.name, params: l.msg.params }));
};
