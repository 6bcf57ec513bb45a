// Drives Debian's chromium (headless, through playwright-core; no browser download) through one
// scenario of the studio view in the test host (tests/apps/host.html). Reads the job as JSON on
// stdin: {url, scenario, chromium, screenshots, open: {tool, arguments, theme}, ...}. Prints one
// JSON line: {ok, error?, screenshots, facts, text, refused}. The waits are the assertions on the
// page (a step that never happens fails the scenario); tests/apps/test_browser.py asserts the facts
// against the server and the simulator.
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const WAIT = 20_000;

async function stdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString());
}

const job = await stdin();
const shots = [];
const facts = {};
let page, frame;

const sel = (id) => `[data-testid="${id}"]`;
const tid = (id) => frame.locator(sel(id));

// The whole host page. Not fullPage: chromium leaves a sandboxed frame taller than the viewport
// blank in those; a viewport as tall as the page instead.
async function shot(name) {
  const path = join(job.screenshots, `${name}.png`);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  const size = page.viewportSize();
  if (height > size.height) {
    await page.setViewportSize({ width: size.width, height });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  await page.screenshot({ path, animations: "disabled" }); // transitions finished, not caught half-way
  shots.push(path);
}

// Runs `fn` in the view (the sandboxed frame) until it returns something truthy; returns that.
async function until(what, fn, arg, timeout = WAIT) {
  try {
    const h = await frame.waitForFunction(fn, arg, { timeout, polling: 100 });
    return await h.jsonValue();
  } catch (e) {
    throw new Error(`${what}: not within ${timeout / 1000} s (${e.message.split("\n")[0]})`);
  }
}

async function visible(id, timeout = WAIT) {
  try {
    await tid(id).first().waitFor({ state: "visible", timeout });
  } catch {
    throw new Error(`[data-testid=${id}] not visible within ${timeout / 1000} s`);
  }
}

async function text(id) {
  return (await tid(id).first().innerText()).trim();
}

// The open view: host.open() then the frame, once the view has answered the handshake.
async function open(o = job.open) {
  await page.evaluate((o) => window.host.open(o), o);
  const handle = await page.waitForSelector("#frame");
  frame = await handle.contentFrame();
  await page.waitForFunction(() => window.host.initialized, null, { timeout: WAIT });
}

// Shows tab `name` (player, gallery, compare) unless its view is already shown.
async function tab(name) {
  if (!(await tid(`view-${name}`).first().isVisible())) await tid(`tab-${name}`).first().click();
  await visible(`view-${name}`);
}

async function mediaReady(id, i = 0) {
  return until(`${id} #${i} has data`, ([s, i]) => {
    const m = document.querySelectorAll(s)[i];
    return m && m.readyState >= 2 && m.src ? { src: m.src.slice(0, 40), duration: m.duration } : false;
  }, [sel(id), i]);
}

// Plays a media element from the start (muted; as the user pressing play) and waits until its
// clock has moved.
async function plays(id) {
  await frame.evaluate((s) => {
    const m = document.querySelector(s);
    m.muted = true;
    m.currentTime = 0;
    return m.play();
  }, sel(id));
  return until(`${id} plays`, (s) => {
    const m = document.querySelector(s);
    return m.currentTime > 0 ? { currentTime: m.currentTime, played: m.played.length } : false;
  }, sel(id));
}

async function imageShown(id = "player-image") {
  await visible(id);
  return until(`${id} loaded`, (s) => {
    const i = document.querySelector(s);
    return i.complete && i.naturalWidth > 0
      ? { naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, src: i.src.slice(0, 40) }
      : false;
  }, sel(id));
}

async function playerFacts() {
  const out = {};
  for (const id of ["task-id", "status", "model", "prompt", "cost", "duration"]) {
    const l = tid(id).first();
    out[id] = (await l.count()) ? (await l.innerText()).trim() : null;
  }
  return out;
}

// Which parts of the follow-ups box show: the offered buttons, "none", the prompt, the run button.
async function followUpsShown() {
  return frame.evaluate(() => {
    const shown = (el) => !!el && el.getClientRects().length > 0;
    return {
      offered: [...document.querySelectorAll('[data-testid^="follow-up-"][data-action]')].filter(shown)
        .map((b) => b.dataset.action),
      none: shown(document.getElementById("follow-up-none")),
      prompt: shown(document.querySelector('[data-testid="follow-up-prompt"]')),
      confirm: shown(document.querySelector('[data-testid="follow-up-confirm"]')),
    };
  });
}

// The computed background of the view's page (body, else html), as "rgb(r, g, b)".
function background() {
  return frame.evaluate(() => {
    for (const el of [document.body, document.documentElement]) {
      const c = getComputedStyle(el).backgroundColor;
      if (c && c !== "transparent" && c !== "rgba(0, 0, 0, 0)") return c;
    }
    return "transparent";
  });
}

// Asks for a follow-up (job.action, with job.prompt typed first if any): its estimate shown, the
// confirm button enabled.
async function priced() {
  if (job.prompt) await tid("follow-up-prompt").fill(job.prompt);
  await tid(`follow-up-${job.action}`).click();
  await until("the follow-up's estimate", (s) => !document.querySelector(s).disabled, sel("follow-up-confirm"));
  facts.cost = await text("follow-up-cost");
}

const focused = () => frame.evaluate(() => document.activeElement?.getAttribute("data-testid") || null);

// Presses `key` until the element with data-testid `id` has the focus.
async function keyTo(id, key = "Tab", max = 40) {
  for (let i = 0; i < max; i++) {
    if ((await focused()) === id) return i;
    await page.keyboard.press(key);
  }
  throw new Error(`${id}: not reached by ${key} in ${max} presses (focus on ${await focused()})`);
}

const scenarios = {
  async probe() {
    await open();
    const out = await until("the probe's report", (s) => {
      const t = document.querySelector(s)?.textContent;
      return t && t.startsWith("{") ? t : false;
    }, sel("probe-result"));
    facts.probe = JSON.parse(out);
  },

  async image() {
    await open();
    facts.image = await imageShown();
    await visible("status");
    facts.player = await playerFacts();
    await shot("image");
  },

  async video() {
    await open();
    await visible("player-video");
    facts.video = await mediaReady("player-video");
    facts.poster = await tid("player-video").first().getAttribute("poster");
    facts.played = await plays("player-video");
    facts.player = await playerFacts();
    // A frame to show: stopped half-way.
    await frame.evaluate((s) => {
      const v = document.querySelector(s);
      v.pause();
      v.currentTime = 0.5;
    }, sel("player-video"));
    await shot("video");
  },

  async audio() {
    await open();
    await visible("player-audio");
    facts.audio = await mediaReady("player-audio");
    facts.played = await plays("player-audio");
    facts.player = await playerFacts();
    facts.followUps = await followUpsShown();
    await shot("audio");
  },

  // Several outputs: a strip of them; the last one chosen is shown.
  async strip() {
    await open();
    await visible("outputs-strip");
    await imageShown();
    facts.thumbs = await tid("output-thumb").count();
    await tid("output-thumb").last().click();
    facts.pressed = await tid("output-thumb").evaluateAll((els) => els.map((e) => e.getAttribute("aria-pressed")));
    facts.image = await imageShown();
    facts.media = await page.evaluate(() => window.host.calls().filter((c) => c.name === "app_media")
      .map((c) => c.params.arguments));
    await shot("strip");
  },

  async progress() {
    await open();
    // While the task runs: its status and a progress between 0 and 1, moving.
    const seen = await until("RUNNING with progress", ([st, pr]) => {
      const s = document.querySelector(st), p = document.querySelector(pr);
      const v = p && parseFloat(p.getAttribute("data-value"));
      return s && s.innerText.trim() === "RUNNING" && v > 0 && v < 1 ? v : false;
    }, [sel("status"), sel("progress")]);
    facts.followUpsRunning = await followUpsShown();
    await shot("progress");
    const later = await until("progress moves", ([pr, v0]) => {
      const p = document.querySelector(pr);
      const v = p && parseFloat(p.getAttribute("data-value"));
      return v > v0 ? v : false;
    }, [sel("progress"), seen]);
    facts.progress = [seen, later];
    await until("SUCCEEDED", (s) => document.querySelector(s)?.innerText.trim() === "SUCCEEDED", sel("status"), 40_000);
    await visible("player-video");
    facts.video = await mediaReady("player-video");
    facts.player = await playerFacts();
    facts.done = parseFloat(await tid("progress").getAttribute("data-value"));
    facts.followUpsDone = await followUpsShown();
    await shot("progress-done");
  },

  async gallery() {
    await open();
    await tab("gallery");
    const count = () => tid("gallery-item").count();
    const items = (n, what) => until(`${what}: ${n} gallery items`, ([s, n]) =>
      document.querySelectorAll(s).length === n, [sel("gallery-item"), n]);
    await items(job.total, "unfiltered");
    facts.total = await text("gallery-total");
    facts.ids = await tid("gallery-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-task-id")));
    await shot("gallery");
    facts.filtered = {};
    for (const [filter, value, n] of job.filters) {
      if (filter === "filter-text") await tid(filter).fill(value);
      else await tid(filter).selectOption(value);
      await items(n, `${filter}=${value}`);
      facts.filtered[`${filter}=${value}`] = await tid("gallery-item").evaluateAll(
        (els) => els.map((e) => e.getAttribute("data-task-id")));
      if (filter === job.shotFilter) {
        // The images' thumbnails in, for the picture.
        await until("the thumbnails", (s) => [...document.querySelectorAll(s)].every((c) =>
          !c.querySelector(".status.SUCCEEDED") || c.querySelector(".head .note")?.textContent !== "image"
          || c.querySelector(".thumb img")?.complete), sel("gallery-item"));
        await shot("gallery-filtered");
      }
      if (filter === "filter-text") await tid(filter).fill("");
      else await tid(filter).selectOption("");
      await items(job.total, `${filter} cleared`);
    }
    facts.count = await count();
  },

  // Page after page until there is no next one.
  async gallery_pages() {
    await open();
    await tab("gallery");
    const count = () => tid("gallery-item").count();
    await until("a first page", (s) => document.querySelectorAll(s).length > 0, sel("gallery-item"));
    facts.pages = [await count()];
    while (await tid("gallery-more").isVisible()) {
      const before = await count();
      await tid("gallery-more").click();
      await until("the next page", ([s, n]) => document.querySelectorAll(s).length > n, [sel("gallery-item"), before]);
      facts.pages.push(await count());
      if (facts.pages.length > 20) throw new Error("more than 20 pages");
    }
    facts.ids = await tid("gallery-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-task-id")));
    await shot("gallery-pages");
  },

  // The opened video's poster in the gallery, once the player has it; none for a video never loaded.
  async gallery_posters() {
    await open();
    await visible("player-video");
    await mediaReady("player-video");
    await tab("gallery");
    await until(`${job.total} gallery items`, ([s, n]) => document.querySelectorAll(s).length === n,
                [sel("gallery-item"), job.total]);
    await until("a poster in the gallery", (s) => document.querySelector(s)?.complete, sel("gallery-poster"));
    facts.posters = await tid("gallery-item").evaluateAll((els) => Object.fromEntries(els.map((e) => {
      const img = e.querySelector('[data-testid="gallery-poster"]');
      return [e.getAttribute("data-task-id"), img ? { src: img.src.slice(0, 30), width: img.naturalWidth } : null];
    })));
    facts.media = await page.evaluate(() => window.host.calls().filter((c) => c.name === "app_media")
      .map((c) => c.params.arguments.task_id));
    await shot("gallery-posters");
  },

  async compare() {
    await open();
    await tab("gallery");
    for (const id of job.pick) {
      await tid("gallery-item").and(frame.locator(`[data-task-id="${id}"]`)).locator(sel("compare-select")).check();
    }
    await tab("compare");
    await until("2 compare items", (s) => document.querySelectorAll(s).length === 2, sel("compare-item"));
    facts.items = await tid("compare-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-task-id")));
    for (let i = 0; i < 2; i++) {
      await until(`compare video ${i} has data`, ([s, i]) => {
        const v = document.querySelectorAll(s)[i]?.querySelector("video");
        return v && v.readyState >= 2;
      }, [sel("compare-item"), i]);
    }
    const videos = `${sel("compare-item")} video`;
    await frame.evaluate((s) => document.querySelectorAll(s).forEach((v) => { v.muted = true; }), videos);
    await tid("compare-play").click();
    facts.played = await until("both videos play", (s) => {
      const vs = [...document.querySelectorAll(`${s} video`)];
      return vs.length === 2 && vs.every((v) => v.currentTime > 0) ? vs.map((v) => v.currentTime) : false;
    }, sel("compare-item"));
    await frame.evaluate((s) => document.querySelectorAll(s).forEach((v) => {
      v.pause();
      v.currentTime = 0.5;
    }), videos);
    await shot("compare");
  },

  async follow_up() {
    await open();
    await visible(job.media);
    facts.before = await text("task-id");
    await priced();
    await shot(`follow-up-${job.action}-cost`);
    await tid("follow-up-confirm").click();
    facts.after = await until("a new task shown", ([s, old]) => {
      const t = document.querySelector(s)?.innerText.trim();
      return t && t !== old ? t : false;
    }, [sel("task-id"), facts.before]);
    await until("the new task SUCCEEDED", (s) => document.querySelector(s)?.innerText.trim() === "SUCCEEDED",
                sel("status"), 40_000);
    await visible(job.media);
    facts.media = job.media === "player-image" ? await imageShown() : await mediaReady(job.media);
    facts.player = await playerFacts();
    await shot(`follow-up-${job.action}-done`);
  },

  async refused() {
    await open();
    await visible(job.media);
    facts.before = await text("task-id");
    await priced();
    await tid("follow-up-confirm").click();
    await visible("error");
    facts.error = await text("error");
    facts.after = await text("task-id");
    if (job.media === "player-video") { // a frame to show (the first is black): played a moment
      await plays(job.media);
      await until("a later frame", (s) => document.querySelector(s).currentTime > 0.3, sel(job.media));
      await frame.evaluate((s) => document.querySelector(s).pause(), sel(job.media));
    }
    await shot("follow-up-refused");
  },

  // The keyboard only, from the first tab: the tabs by arrows, a follow-up by Tab and Enter.
  async keyboard() {
    await open();
    await imageShown();
    facts.before = await text("task-id");
    await tid("tab-player").focus();
    await page.keyboard.press("ArrowRight");
    await visible("view-gallery");
    facts.galleryTab = await focused();
    await page.keyboard.press("ArrowLeft");
    await visible("view-player");
    facts.presses = await keyTo(`follow-up-${job.action}`);
    await page.keyboard.press("Enter");
    await until("the follow-up's estimate", (s) => !document.querySelector(s).disabled, sel("follow-up-confirm"));
    facts.confirmFocused = (await focused()) === "follow-up-confirm";
    await keyTo("follow-up-confirm");
    await page.keyboard.press("Enter");
    facts.after = await until("a new task shown", ([s, old]) => {
      const t = document.querySelector(s)?.innerText.trim();
      return t && t !== old ? t : false;
    }, [sel("task-id"), facts.before]);
    await imageShown();
    await shot("keyboard");
  },

  // Copy the prompt (read back from the clipboard by the host page) and download the output (the
  // host saves what the view hands it with ui/download-file).
  async copy_download() {
    await open();
    await imageShown();
    await tid("copy-prompt").click();
    for (let i = 0; i < 100 && !facts.clipboard; i++) {
      facts.clipboard = await page.evaluate(() => navigator.clipboard.readText());
      if (!facts.clipboard) await page.waitForTimeout(100);
    }
    facts.allow = await page.evaluate(() => window.host.allow);
    await tid("download").click();
    await page.waitForFunction(() => window.host.downloads.length > 0, null, { timeout: WAIT });
    facts.downloads = await page.evaluate(() => window.host.downloads);
    await shot("copy-download");
  },

  async dark() {
    await open();
    await imageShown();
    facts.dark = await background();
    await shot("dark");
    await page.evaluate(() => window.host.setTheme("light"));
    facts.light = await until("the light theme applied", ([dark]) => {
      for (const el of [document.body, document.documentElement]) {
        const c = getComputedStyle(el).backgroundColor;
        if (c && c !== "transparent" && c !== "rgba(0, 0, 0, 0)") return c !== dark ? c : false;
      }
      return false;
    }, [facts.dark]);
    await shot("light");
  },
};

const report = { ok: false, scenario: job.scenario, screenshots: shots, facts };
const browser = await chromium.launch({
  executablePath: job.chromium,
  // The video scenarios play without a user gesture.
  args: ["--autoplay-policy=no-user-gesture-required"],
});
try {
  // The host page may read the clipboard back (copy-prompt); the view gets only what its
  // resource asks for (host.js: the frame's allow attribute).
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 },
                                             permissions: ["clipboard-read", "clipboard-write"] });
  page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(job.url);
  const run = scenarios[job.scenario];
  if (!run) throw new Error(`no scenario ${job.scenario}`);
  await run();
  facts.consoleErrors = errors;
  report.ok = true;
} catch (e) {
  report.error = String(e && e.stack || e);
  try { await shot(`${job.scenario}-failed`); } catch {}
  try { report.text = (await frame.locator("body").innerText()).slice(0, 2000); } catch {}
} finally {
  try {
    report.refused = await page.evaluate(() => window.host.refused);
    report.calls = await page.evaluate(() => window.host.calls().map((c) => c.name || c.params?.uri));
    report.policy = await page.evaluate(() => window.host.policy);
    report.opened = await page.evaluate(() => window.host.opened && window.host.opened.result);
  } catch {}
  await browser.close();
}
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(report.ok ? 0 : 1);
