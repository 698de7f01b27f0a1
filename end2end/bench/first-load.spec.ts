// Scenario 5b: how long a first visit takes to become a usable page on a
// slow phone and network, in Chromium with the DevTools protocol: the CPU
// slowed 4x, and each of DevTools' network presets. Run against the
// release build (see BENCHMARKS.md); prints the times, asserts none.
import { type Browser, expect, type Page, test } from "@playwright/test";
import { CONNECTED, connectedWith, sendButton, subtitle } from "../tests/fixtures/chat";

// The page's first page of history: `shared::DEFAULT_PAGE_SIZE`.
const HISTORY_PAGE = 50;

// DevTools' presets (latency per request in ms, bytes per second), and
// the network left alone: what the slowed CPU alone costs.
const networks = [
  { name: "no network limit", latency: 0, throughput: -1 },
  { name: "Slow 3G", latency: 2000, throughput: (500 * 1000 * 0.8) / 8 },
  { name: "Fast 3G", latency: 562.5, throughput: (1.6 * 1000 * 1000 * 0.9) / 8 },
];

// A first visit finds a page of history to draw, as in a chat in use:
// the room's latest page, from three people. The floor's server writes
// the same page (`get_messages` in crates/loadgen/wasm-floor/src/lib.rs).
test.beforeAll(async ({ baseURL }) => {
  const people = ["ada", "grace", "linus"];
  for (let n = 1; n <= HISTORY_PAGE; n++) {
    const response = await fetch(`${baseURL}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        username: people[n % people.length],
        text: `Message ${n}: shall we move the review to Thursday afternoon?`,
      }),
    });
    expect(response.status).toBe(201);
  }
});

// The floor, when `CHAT_FLOOR_BIN` is given (playwright.bench.config.ts
// starts it): the smallest Leptos page doing the demo's part, built as
// the chat's WASM is and served as the chat's page is
// (crates/loadgen/wasm-floor), with the same page of history. Timed right
// after the chat on each network, so that each figure has its floor from
// the same run and the same minute.
const floor = process.env.CHAT_FLOOR_BIN
  ? `http://127.0.0.1:${process.env.CHAT_FLOOR_PORT ?? 3220}/`
  : undefined;

for (const network of networks) {
  test(`first load on ${network.name}, CPU 4x slower`, async ({ browser }) => {
    const { context, page, timing } = await timedLoad(browser, network, "/");
    // What the marks stand for, asked once the page is loaded.
    await expect(sendButton(page)).toBeEnabled();
    await expect(subtitle(page)).toHaveText(CONNECTED);
    console.log(`${network.name}, CPU 4x: ${timing()}`);
    await context.close();
  });

  test(`the floor: first load on ${network.name}, CPU 4x slower`, async ({ browser }) => {
    test.skip(floor === undefined, "no floor-server given (CHAT_FLOOR_BIN)");
    const { context, page, timing } = await timedLoad(browser, network, floor!);
    await expect(sendButton(page)).toBeEnabled();
    await expect(subtitle(page)).toHaveText(connectedWith(HISTORY_PAGE));
    console.log(`the floor on ${network.name}, CPU 4x: ${timing()}`);
    await context.close();
  });
}

// Loads `url` in a slowed page (`slowedPage`) and waits until it is
// hydrated and live by its own marks (`noteMarks`); `timing()` then says
// when, with how many bytes, and when the page and its WASM arrived.
async function timedLoad(
  browser: Browser,
  network: { latency: number; throughput: number },
  url: string,
) {
  const { context, page, cdp } = await slowedPage(browser, network);
  // When each response finished arriving, in DevTools' clock (seconds),
  // and when the document was asked for: the network's part of the time.
  let transferred = 0;
  let asked: number | undefined;
  const urls = new Map<string, string>();
  const arrived = new Map<string, number>();
  cdp.on("Network.requestWillBeSent", (event) => {
    urls.set(event.requestId, event.request.url);
    asked ??= event.timestamp;
  });
  cdp.on("Network.loadingFinished", (event) => {
    transferred += event.encodedDataLength;
    arrived.set(urls.get(event.requestId) ?? "", event.timestamp);
  });

  // The page notes when it became hydrated and live (`noteMarks`), in ms
  // since the navigation began: Playwright's polling checks only every
  // 500 ms after its first tries, which rounded a load up by as much.
  // A change made inside a long task (hydration is one) counts from the
  // task's end: only then can the page answer a click.
  await loadUntilMarked(page, url);
  const [hydrated, connected] = await page.evaluate(() => {
    const marks = window as unknown as Record<string, number>;
    const longTasks = (window as unknown as Record<string, { start: number; end: number }[]>)
      .longTasks;
    const usable = (at: number) =>
      longTasks.find((task) => task.start <= at && at <= task.end)?.end ?? at;
    return [Math.round(usable(marks.hydratedAt)), Math.round(usable(marks.liveAt))];
  });
  const lastByte = (ending: string) => {
    const at = [...arrived].find(([url]) => url.endsWith(ending));
    return at && asked !== undefined ? Math.round((at[1] - asked) * 1000) : "?";
  };
  const timing = () =>
    `hydrated and usable ${hydrated} ms, live (stream open) ${connected} ms, ` +
    `${transferred} bytes transferred; the page arrived at ${lastByte("/")} ms, ` +
    `the WASM at ${lastByte(".wasm")} ms`;
  return { context, page, timing };
}

// What the browser compiles at first call while a page loads (Fast 3G,
// CPU 4x): V8 compiles a WASM module's functions lazily, on the main
// thread, and that was half of the CPU's part of a load (BENCHMARKS.md,
// "First load, seventeenth session"). A traced load, so its time is not
// comparable with the ones above; the count says how much distinct code
// a first visit runs before it is usable and live.
for (const [which, url] of [
  ["the chat", "/"],
  ["the floor", floor],
] as const) {
  test(`${which}: first load on Fast 3G, CPU 4x slower, traced: WASM compiled at first call`, async ({
    browser,
  }) => {
    test.skip(url === undefined, "no floor-server given (CHAT_FLOOR_BIN)");
    const fast3g = networks.find((network) => network.name === "Fast 3G")!;
    const { context, page } = await slowedPage(browser, fast3g);
    await browser.startTracing(page, { categories: ["v8.wasm"] });
    await loadUntilMarked(page, url!);
    const trace = JSON.parse((await browser.stopTracing()).toString());
    const compiled = (trace.traceEvents as { name: string; ph: string; dur?: number }[]).filter(
      (event) => event.name === "wasm.CompileLazy" && event.ph === "X",
    );
    expect(compiled.length, "the trace holds V8's WASM compilations").toBeGreaterThan(0);
    const ms = compiled.reduce((sum, event) => sum + (event.dur ?? 0), 0) / 1000;
    console.log(
      `${which}, Fast 3G, CPU 4x, traced: ${compiled.length} WASM functions compiled at their ` +
        `first call before the page was usable and live, ${Math.round(ms)} ms on the main thread`,
    );
    await context.close();
  });
}

// A page in a new context (nothing cached), its CPU slowed 4x and its
// network as `network` says.
async function slowedPage(browser: Browser, network: { latency: number; throughput: number }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: network.latency,
    downloadThroughput: network.throughput,
    uploadThroughput: network.throughput,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  return { context, page, cdp };
}

// Loads `url` and waits, asking the page nothing meanwhile, until it has
// noted both marks (`noteMarks`).
async function loadUntilMarked(page: Page, url: string) {
  await page.addInitScript(noteMarks);
  await page.goto(url, { waitUntil: "commit" });
  await page.evaluate(() => (window as unknown as Record<string, Promise<void>>).bothNoted);
}

// Run in the page before its own scripts: notes when it became hydrated
// (Send is disabled until the WASM has taken the page over) and live (the
// stream open), in ms since the navigation began, and settles
// `bothNoted` then.
function noteMarks() {
  const marks = window as unknown as Record<string, number>;
  const longTasks: { start: number; end: number }[] = [];
  (window as unknown as Record<string, unknown>).longTasks = longTasks;
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) {
      longTasks.push({ start: task.startTime, end: task.startTime + task.duration });
    }
  }).observe({ type: "longtask", buffered: true });
  // Both noted: the promise the test waits on, so that it asks the
  // page nothing while it loads (a locator's polling and a trace's
  // snapshots run on the page's main thread, at the slowed CPU's pace).
  let settle: () => void = () => {};
  (window as unknown as Record<string, unknown>).bothNoted = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const note = (name: string, met: () => boolean) => {
    const check = () => {
      if (marks[name] === undefined && met()) marks[name] = performance.now();
      if (marks.hydratedAt !== undefined && marks.liveAt !== undefined) settle();
    };
    new MutationObserver(check).observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
  };
  note("hydratedAt", () => {
    const send = document.querySelector("[data-test=send]");
    return send !== null && !send.hasAttribute("disabled");
  });
  note("liveAt", () =>
    /^Connected /.test(document.querySelector("[data-test=subtitle]")?.textContent ?? ""),
  );
}
