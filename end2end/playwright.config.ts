import { defineConfig } from "@playwright/test";

// The server under test is the debug `sellout` binary on the embedded default (SQLite, in-process
// stores, demo catalog) in a throw-away data dir; scripts/test.sh sets SELLOUT_BIN and E2E_PORT.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: `${process.env.SELLOUT_BIN ?? "../target/debug/sellout"} serve`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      SELLOUT_DATA_DIR: process.env.E2E_DATA_DIR ?? "/tmp/sellout-e2e",
      SELLOUT_SITE_ROOT: process.env.SELLOUT_SITE_ROOT ?? "../target/site",
      SELLOUT_LOG: "warn",
    },
  },
});
