import { defineConfig } from "@playwright/test";

// The servers under test are the debug `sellout` binary on the embedded default (SQLite, in-process
// stores, demo catalog) in throw-away data dirs: one with the demo gateway, and one taking cards
// with Stripe.js against localstripe (stripe.spec.ts), which logs to a file the tests search.
// scripts/test.sh sets SELLOUT_BIN, E2E_PORT, E2E_STRIPE_PORT and TEST_STRIPE_URL.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const bin = process.env.SELLOUT_BIN ?? "../target/debug/sellout";
const siteRoot = process.env.SELLOUT_SITE_ROOT ?? "../target/site";
const dataDir = process.env.E2E_DATA_DIR ?? "/tmp/sellout-e2e";
const shoppersFromOneAddress = {
  SELLOUT_RATE_SIGNUP_PER_IP: "100000/1h",
  SELLOUT_RATE_CHECKOUT_PER_USER: "100000/1h",
  SELLOUT_RATE_CHECKOUT_PER_IP: "100000/1h",
};
export const stripe = {
  port: Number(process.env.E2E_STRIPE_PORT ?? 3101),
  api: process.env.TEST_STRIPE_URL ?? "http://127.0.0.1:8420/",
  dataDir: `${dataDir}-stripe`,
  log: `${dataDir}-stripe.log`,
};

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
  webServer: [
    {
      command: `${bin} serve`,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "ignore",
      stderr: "pipe",
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        SELLOUT_DATA_DIR: dataDir,
        SELLOUT_SITE_ROOT: siteRoot,
        SELLOUT_LOG: "warn",
        // Every test's shoppers sign up and pay from 127.0.0.1, like an office behind one address.
        ...shoppersFromOneAddress,
      },
    },
    {
      command: `sh -c 'exec "$0" serve >>"$1" 2>&1' ${bin} ${stripe.log}`,
      url: `http://127.0.0.1:${stripe.port}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${stripe.port}`,
        SELLOUT_DATA_DIR: stripe.dataDir,
        SELLOUT_SITE_ROOT: siteRoot,
        // Everything the shop logs at debug level is searched for card numbers.
        SELLOUT_LOG: "debug,hyper=info,hyper_util=info,h2=info,tantivy=info,rustls=info",
        STRIPE_SECRET_KEY: "sk_test_sellout_e2e",
        STRIPE_PUBLISHABLE_KEY: "pk_test_sellout_e2e",
        STRIPE_API_BASE: stripe.api,
        STRIPE_JS_URL: `${stripe.api}js.stripe.com/v3/`,
        SELLOUT_SHOP_ID: `e2e-${Date.now()}`,
        ...shoppersFromOneAddress,
      },
    },
  ],
});
