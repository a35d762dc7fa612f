// Card payments with Stripe.js against localstripe: the card is typed into localstripe's fake
// Stripe.js element (its inputs are named by placeholder), the shop gets a payment method id.
import * as fs from "node:fs";
import { test, expect, type Page } from "@playwright/test";
import { stripe } from "../playwright.config";
import { expectPaidOrder, fillAddress, shopperWithCart } from "./shop";

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
