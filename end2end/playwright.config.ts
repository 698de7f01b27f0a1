import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";

// `cargo xtask test` builds the server and passes its path; every run gets
// a fresh database so tests never see an earlier run's messages.
const port = Number(process.env.CHAT_E2E_PORT ?? 3100);
const server = process.env.CHAT_SERVER_BIN ?? "target/leptos/debug/server";
// Set once, in the runner: its workers inherit it (and so reach the same
// database with the operator's command line, see fixtures/server.ts).
process.env.CHAT_E2E_DATABASE ??= path.join(os.tmpdir(), `chat-e2e-${process.pid}`, "chat.db");
const database = process.env.CHAT_E2E_DATABASE;

export default defineConfig({
  testDir: "./tests",
  // One server, one shared chat: tests run one at a time so that message
  // counts seen by one test are not changed by another.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download is not available here.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
    trace: "retain-on-failure",
  },
  webServer: {
    // Started from the workspace root, where the server finds target/site.
    // Every test's browser and API calls come from one address, so the
    // per-address send, read and account limits are off here (the suite
    // makes more accounts than one address may in an hour); limits.spec.ts
    // runs its own server with the send limit on.
    command: `${server} --addr 127.0.0.1:${port} --database-url sqlite://${database} --send-limit off --read-limit off --account-limit off`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
