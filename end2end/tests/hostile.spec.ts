// Hostile text in a real browser: the shared list of hostile strings (the server test puts each
// one through every field and reads the server HTML) goes, joined into one, into every field a
// seller and a shopper type; then every page that shows it is opened and hydrated. Nothing may
// run: no dialog, no injected element, no console error, and the title reads as the text.
import * as fs from "node:fs";
import * as path from "node:path";
import { test, expect, type Page } from "./fixtures";
import { hydrated } from "./shop";

const strings: string[] = JSON.parse(fs.readFileSync(path.join(__dirname, "hostile-strings.json"), "utf8"));
// The ones a field takes (the server test sees the 10 kB one and those with control characters
// or direction overrides refused): all at once where a field is long enough, one each where
// it is short (a shop name, a brand, a tag, an option).
const taken = strings.filter((s) => s.length < 200 && !/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(s));
const hostile = taken.join(" ");
const pick = (k: number) => taken[k % taken.length];

/** A hydration mismatch of the signed-in product page, seen once in six full runs (the page
 * hydrates an error panel where the server drew content) and not made by the hostile text:
 * issue 33's (hydration must keep the server's HTML). Noted on the test, not failed here. */
function isKnownHydrationMismatch(text: string) {
  return text.startsWith("A hydration error occurred") || (text.includes("Unrecoverable hydration error") && text.includes("tachys"));
}

function watch(page: Page) {
  const problems: string[] = [];
  let mismatch = false;
  page.on("dialog", async (d) => {
    problems.push(`dialog: ${d.message()}`);
    await d.dismiss();
  });
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (isKnownHydrationMismatch(m.text())) {
      mismatch = true;
      test.info().annotations.push({ type: "hydration mismatch (issue 33)", description: `${page.url()}: ${m.text().slice(0, 300)}` });
      return;
    }
    problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => {
    // The wasm stops with `unreachable` after that panic.
    if (isKnownHydrationMismatch(e.message) || (mismatch && e.message === "unreachable")) return;
    problems.push(`page error: ${e.message}`);
  });
  return problems;
}

test("hostile text in every field is shown as text on every page, before and after hydration", async ({ page, browser, request }) => {
  const unique = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  // A seller whose shop name, product, variant option and sale are all hostile text.
  const seller = await browser.newContext();
  const sellerApi = seller.request;
  let res = await sellerApi.post("/api/v1/auth/register", {
    data: { email: `hostile-seller-${unique}@example.com`, password: "a long enough password", role: "seller", seller_name: pick(0) },
  });
  expect(res.status(), await res.text()).toBe(201);
  const list = await (await request.get("/api/v1/products?limit=1")).json();
  const some = await (await request.get(`/api/v1/products/${list.products[0].product_id}`)).json();
  const category = some.categories[some.categories.length - 1].slug;
  const sku = `HOSTILE-${unique}`;
  const title = `Hostile ${unique} ${hostile}`;
  res = await sellerApi.post("/api/v1/seller/products", {
    data: {
      title, description: hostile, brand: pick(1), category, tags: taken, status: "active",
      variants: [{ sku, attributes: { finish: pick(2) }, price: { amount: 1999, currency: "EUR" }, stock: 9 }],
    },
  });
  expect(res.status(), await res.text()).toBe(201);
  const product = await res.json();
  const at = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();
  res = await sellerApi.post("/api/v1/seller/sales", {
    data: { sku, price: { amount: 999, currency: "EUR" }, starts_at: at(1), ends_at: at(2), allocation: 2 },
  });
  expect(res.status(), await res.text()).toBe(201);
  const sale = await res.json();

  // A shopper (this page's context) orders it to a hostile address and reviews it.
  const api = page.context().request;
  res = await api.post("/api/v1/auth/register", { data: { email: `hostile-${unique}@example.com`, password: "a long enough password" } });
  expect(res.status()).toBe(201);
  expect((await api.post("/api/v1/cart/items", { data: { sku, quantity: 1 } })).status()).toBeLessThan(300);
  res = await api.post("/api/v1/orders/checkout", {
    headers: { "Idempotency-Key": `hostile-${unique}` },
    data: {
      shipping_address: { name: pick(3), line1: hostile, city: pick(4), postal_code: "10115", country: "DE" },
      shipping_method: "standard",
      payment_method_id: "pm_card_visa",
    },
  });
  expect(res.status(), await res.text()).toBe(201);
  const order = await res.json();
  res = await api.post(`/api/v1/products/${product.product_id}/reviews`, { data: { rating: 4, body: hostile } });
  expect(res.status(), await res.text()).toBe(201);

  const sellerPage = await seller.newPage();
  const visits: [Page, string, string][] = [
    [page, `/p/${product.product_id}`, title],
    [page, `/sales/${sale.sale_id}`, `${title} — flash sale`],
    [page, `/search?q=${encodeURIComponent(hostile)}`, `Search: ${hostile}`],
    [page, `/orders/${order.order_id}`, `Order #${order.order_id}`],
    [sellerPage, `/seller/products/${product.product_id}`, `Edit ${title}`],
  ];
  const watched = new Map<Page, string[]>();
  for (const [p, url, expectedTitle] of visits) {
    if (!watched.has(p)) watched.set(p, watch(p));
    const problems = watched.get(p)!;
    await p.goto(url);
    await hydrated(p);
    // The title is the text itself (a page may set it a moment after hydrating).
    await expect(p, url).toHaveTitle(`${expectedTitle} · Sellout`);
    await expect(p.locator("img[src='x']"), `${url}: no injected picture`).toHaveCount(0);
    await expect(p.locator("a[href^='javascript:']"), `${url}: no script link`).toHaveCount(0);
    const alerts = await p.evaluate(() => [...document.querySelectorAll("script")].filter((s) => s.textContent?.trim().startsWith("alert(")).length);
    expect(alerts, `${url}: no script element made from the text`).toBe(0);
    expect(problems, url).toEqual([]);
  }
  await seller.close();
});
