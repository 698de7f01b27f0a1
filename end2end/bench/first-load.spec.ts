// Scenario 5b: how long a first visit takes to become a usable page on a
// slow phone and network, in Chromium with the DevTools protocol: the CPU
// slowed 4x, and each of DevTools' network presets. Run against the
// release build (see BENCHMARKS.md); prints the times, asserts none.
import { expect, test } from "@playwright/test";
import { CONNECTED, sendButton, subtitle } from "../tests/fixtures/chat";

// DevTools' presets (latency per request in ms, bytes per second), and
// the network left alone: what the slowed CPU alone costs.
const networks = [
  { name: "no network limit", latency: 0, throughput: -1 },
  { name: "Slow 3G", latency: 2000, throughput: (500 * 1000 * 0.8) / 8 },
  { name: "Fast 3G", latency: 562.5, throughput: (1.6 * 1000 * 1000 * 0.9) / 8 },
];

for (const network of networks) {
  test(`first load on ${network.name}, CPU 4x slower`, async ({ browser }) => {
    // A new context: nothing cached.
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
    let transferred = 0;
    cdp.on("Network.loadingFinished", (event) => {
      transferred += event.encodedDataLength;
    });

    const started = Date.now();
    await page.goto("/", { waitUntil: "commit" });
    // Hydrated: Send is disabled until the WASM has taken the page over.
    await expect(sendButton(page)).toBeEnabled();
    const hydrated = Date.now() - started;
    await expect(subtitle(page)).toHaveText(CONNECTED);
    const connected = Date.now() - started;
    console.log(
      `${network.name}, CPU 4x: hydrated and usable ${hydrated} ms, live (stream open) ${connected} ms, ` +
        `${transferred} bytes transferred`,
    );
    await context.close();
  });
}
