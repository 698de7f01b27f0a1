// The first-load benchmark (BENCHMARKS.md, scenario 5b): the suite's
// server and browser settings, with the specs in `bench/`. Not part of
// `cargo xtask test`: it reports times, it asserts none.
import { defineConfig } from "@playwright/test";
import suite from "./playwright.config";

export default defineConfig({
  ...suite,
  testDir: "./bench",
  timeout: 120_000,
  expect: { timeout: 60_000 },
  // No trace: recording one snapshots the page's DOM on its main thread
  // while it loads, which the slowed CPU would count as the page's time.
  use: { ...suite.use, trace: "off" },
});
