// Card payments with Stripe.js against localstripe: the card is typed into localstripe's fake
// Stripe.js element (its inputs are named by placeholder), the shop gets a payment method id.
import * as fs from "node:fs";
import { test, expect, type Page } from "./fixtures";
import { stripe } from "../playwright.config";
import { expectPaidOrder, fillAddress, hydrated, shopperWithCart } from "./shop";

test.use({ baseURL: `http://127.0.0.1:${stripe.port}` });
test.describe.configure({ mode: "serial" });

// localstripe's Stripe.js declares a global `class Element`, which shadows the DOM's `Element`
// that the wasm glue checks nodes against (real Stripe.js defines no global but `Stripe`), and
// the storefront stops rendering. Served here inside a function scope, it only sets `Stripe`.
test.beforeEach(async ({ page }) => {
  await page.route(/\/js\.stripe\.com\/v3\/?$/, async (route) => {
    const response = await route.fetch();
    route.fulfill({ response, body: `(function () {\n${await response.text()}\n})();` });
  });
});

const CARDS = {
  ok: "4242424242424242",
  declined: "4000000000000341",
  threeDS: "4000002500003155",
};

/** Every request the page sends to our shop, to prove no card number is among them. */
function watchShopRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on("request", (r) => {
    if (r.url().startsWith(`http://127.0.0.1:${stripe.port}/`)) seen.push(`${r.url()}\n${r.postData() ?? ""}`);
  });
  return seen;
}

async function typeCard(page: Page, number: string) {
  const card = page.locator("#card-element");
  await card.getByPlaceholder("number").fill(number);
  await card.getByPlaceholder("exp_month").fill("12");
  await card.getByPlaceholder("exp_year").fill("34");
  await card.getByPlaceholder("cvc").fill("123");
  await card.getByPlaceholder("postal_code").fill("10119");
}

test("a purchase with the card typed into Stripe.js", async ({ page, request }) => {
  const sent = watchShopRequests(page);
  const product = await shopperWithCart(page, request);
  await expect(page.getByTestId("card-entry")).toContainText("never sees its number");
  await expect(page.getByTestId("test-cards")).toHaveCount(0);
  await fillAddress(page);
  await typeCard(page, CARDS.ok);
  const total = await page.getByTestId("total").textContent();
  await page.getByRole("button", { name: "Place order" }).click();
  await expectPaidOrder(page, total!, product.title);
  expect(sent.some((s) => s.includes("place_order") && /payment_method_id=(card|pm)_/.test(s))).toBe(true);
  expect(sent.filter((s) => s.includes(CARDS.ok))).toEqual([]);
});

test("a declined card, then another card on the order page", async ({ page, request }) => {
  const sent = watchShopRequests(page);
  await shopperWithCart(page, request);
  await fillAddress(page);
  await typeCard(page, CARDS.declined);
  await page.getByRole("button", { name: "Place order" }).click();
  await expect(page.getByTestId("declined")).toContainText("declined");
  await expect(page.getByTestId("order-status")).toHaveText("Awaiting payment");
  await typeCard(page, CARDS.ok);
  await page.getByRole("button", { name: "Pay now" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  await expect(page.getByTestId("declined")).toHaveCount(0);
  expect(sent.filter((s) => s.includes(CARDS.declined) || s.includes(CARDS.ok))).toEqual([]);
});

test("3-D Secure is completed in the browser", async ({ page, request }) => {
  await shopperWithCart(page, request);
  await fillAddress(page);
  await typeCard(page, CARDS.threeDS);
  await page.getByRole("button", { name: "Place order" }).click();
  // localstripe's stand-in for the bank's window.
  await page.getByRole("button", { name: "Complete authentication" }).click();
  await expect(page.getByTestId("order-placed")).toBeVisible();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
});

test("a failed 3-D Secure check, then paying again", async ({ page, request }) => {
  await shopperWithCart(page, request);
  await fillAddress(page);
  await typeCard(page, CARDS.threeDS);
  await page.getByRole("button", { name: "Place order" }).click();
  await page.getByRole("button", { name: "Fail authentication" }).click();
  await expect(page.getByTestId("declined")).toContainText("authentication");
  await expect(page.getByTestId("order-status")).toHaveText("Awaiting payment");
  await typeCard(page, CARDS.threeDS);
  await page.getByRole("button", { name: "Pay now" }).click();
  await page.getByRole("button", { name: "Complete authentication" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
});

test("express buy: a card saved with Stripe.js at registration, then one click buys and pays", async ({ page, request }) => {
  test.setTimeout(60_000);
  const sent = watchShopRequests(page);
  // A seller's sale of one unit, starting in a few seconds.
  const tag = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  expect((await request.post("/api/v1/auth/register", { data: { email: `xs-${tag}@example.com`, password: "a good password", role: "seller", seller_name: `Express ${tag}` } })).status()).toBe(201);
  const sku = `XS-${tag}`;
  const product = await request.post("/api/v1/seller/products", { data: { title: `Halo Lamp ${tag}`, brand: "Lumo", status: "active", variants: [{ sku, price: { amount: 4999, currency: "EUR" }, stock: 3 }] } });
  expect(product.status()).toBe(201);
  const at = (s: number) => new Date(Date.now() + s * 1000).toISOString();
  const sale = await request.post("/api/v1/seller/sales", {
    data: { sku, price: { amount: 2999, currency: "EUR" }, starts_at: at(15), ends_at: at(3600), allocation: 1, per_buyer_limit: 1, admission_rate: 50 },
  });
  expect(sale.status()).toBe(201);
  const id = (await sale.json()).sale_id as number;

  // A shopper with an address in their book saves the express buy on the sale page.
  expect((await page.request.post("/api/v1/auth/register", { data: { email: `xb-${tag}@example.com`, password: "a good password" } })).status()).toBe(201);
  const saved = await page.request.post("/api/fn/save_address", { form: { name: "Ria Nova", line1: "Linienstraße 12", city: "Berlin", postal_code: "10119", country: "DE", make_default: "on" } });
  expect(saved.status()).toBeLessThan(400);
  await page.goto(`/sales/${id}`);
  await hydrated(page);
  await expect(page.getByTestId("sale-state")).toHaveText("Coming soon");
  await expect(page.getByTestId("express")).toContainText("Express buy");
  await expect(page.getByLabel("Ship to")).toContainText("Linienstraße 12");
  await typeCard(page, CARDS.ok);
  await page.getByTestId("save-express").click();
  await expect(page.getByTestId("express-saved")).toContainText("Visa •••• 4242");

  // The start; in line, let in; one click makes the order and pays with the saved card.
  await page.getByTestId("join").click();
  await expect(page.getByTestId("sale-state")).toHaveText("Live now", { timeout: 25_000 });
  await expect(page.getByTestId("admitted")).toBeVisible({ timeout: 10_000 });
  await page.getByTestId("buy").click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  await expect(page.getByTestId("order-placed")).toBeVisible();
  await expect(page.getByTestId("order-line")).toContainText(`Halo Lamp ${tag}`);
  expect(sent.filter((s) => s.includes(CARDS.ok))).toEqual([]);
});

test("no card number is in the shop's database or logs", async () => {
  const log = fs.readFileSync(stripe.log, "latin1");
  // The log is the shop's, at debug level, and saw the purchases above.
  expect(log).toContain("order paid");
  expect(log).toContain("card needs 3-D Secure");
  const db = ["sellout.db", "sellout.db-wal"]
    .map((f) => `${stripe.dataDir}/${f}`)
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f).toString("latin1"))
    .join("");
  expect(db).toMatch(/pi_[A-Za-z0-9]{8}/); // the payments are in it
  for (const number of Object.values(CARDS)) {
    expect(log.includes(number), `card ${number} in the log`).toBe(false);
    expect(db.includes(number), `card ${number} in the database`).toBe(false);
    expect(log.includes(number.slice(0, 12)) || db.includes(number.slice(0, 12)), `card ${number} in part`).toBe(false);
  }
});
