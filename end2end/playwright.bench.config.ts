// The first-load benchmark (BENCHMARKS.md, scenario 5b): the suite's
// server and browser settings, with the specs in `bench/`. Not part of
// `cargo xtask test`: it reports times, it asserts none.
import { defineConfig } from "@playwright/test";
import suite from "./playwright.config";

// The floor's server (crates/loadgen/wasm-floor, `./build.sh --server`),
// when given: the spec then times the floor beside the chat.
const floorBin = process.env.CHAT_FLOOR_BIN;
const floorPort = Number(process.env.CHAT_FLOOR_PORT ?? 3220);
const floorServer = floorBin
  ? [
      {
        command: `${floorBin} 127.0.0.1:${floorPort} ${process.env.CHAT_FLOOR_SITE ?? "crates/loadgen/wasm-floor/target/floor/site"}`,
        cwd: "..",
        url: `http://127.0.0.1:${floorPort}/`,
        reuseExistingServer: false,
        timeout: 60_000,
        stdout: "ignore" as const,
        stderr: "pipe" as const,
      },
    ]
  : [];

export default defineConfig({
  ...suite,
  testDir: "./bench",
  timeout: 120_000,
  expect: { timeout: 60_000 },
  // No trace: recording one snapshots the page's DOM on its main thread
  // while it loads, which the slowed CPU would count as the page's time.
  use: { ...suite.use, trace: "off" },
  webServer: [suite.webServer!, ...floorServer].flat(),
});
