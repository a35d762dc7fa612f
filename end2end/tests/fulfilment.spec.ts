/**
 * A seller fulfils orders in the admin, on a desktop and on a phone: where to send it, what to
 * pack from where, cancel before shipping and refund part with the units back in stock, each
 * after a confirmation; and what the shopper sees of it. Without JavaScript the confirmation
 * is a page of its own.
 */
import { test, expect, type Browser, type Page } from "./fixtures";
import { hydrated, seriousViolations } from "./shop";

type Sale = { tag: string; title: string; sku: string; productId: number; orderId: number; buyer: string };

/** A seller (signed in on `page`) with a beanie in two colours, and an order of `units` rust
 *  ones with express shipping from a shopper in their own browser profile. */
async function sellerWithOrder(page: Page, browser: Browser, units: number): Promise<Sale> {
  const tag = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const r = page.request;
  const reg = await r.post("/api/v1/auth/register", {
    data: { email: `seller-${tag}@example.com`, password: "a good password", role: "seller", seller_name: `Shop ${tag}` },
  });
  expect(reg.status()).toBe(201);
  const title = `Beanie ${tag}`;
  const sku = `BEANIE-${tag}-RUST`;
  const created = await r.post("/api/v1/seller/products", {
    data: {
      title, brand: "Walkabout", status: "active",
      variants: [
        { sku, attributes: { colour: "rust" }, price: { amount: 2500, currency: "EUR" }, stock: 6 },
        { sku: `BEANIE-${tag}-NAVY`, attributes: { colour: "navy" }, price: { amount: 2500, currency: "EUR" }, stock: 6 },
      ],
    },
  });
  expect(created.status()).toBe(201);
  const productId = (await created.json()).product_id;

  const shopper = await browser.newContext();
  const b = shopper.request;
  expect((await b.post("/api/v1/auth/register", { data: { email: `buyer-${tag}@example.com`, password: "a good password" } })).status()).toBe(201);
  expect((await b.post("/api/v1/cart/items", { data: { sku, quantity: units } })).ok()).toBe(true);
  const buyer = `Robin ${tag}`;
  const order = await b.post("/api/v1/orders/checkout", {
    headers: { "Idempotency-Key": `k-${tag}` },
    data: { shipping_address: { name: buyer, line1: "Kade 7", city: "Rotterdam", postal_code: "3011", country: "NL" }, shipping_method: "express", payment_method_id: "pm_card_visa" },
  });
  expect(order.status()).toBe(201);
  const orderId = (await order.json()).order_id;
  await shopper.storageState({ path: `/tmp/sellout-e2e-buyer-${tag}.json` });
  await shopper.close();
  return { tag, title, sku, productId, orderId, buyer };
}

/** The shopper of `sale`, back in their own browser profile, on their order's page. */
async function shopperSees(browser: Browser, sale: Sale) {
  const context = await browser.newContext({ storageState: `/tmp/sellout-e2e-buyer-${sale.tag}.json` });
  const page = await context.newPage();
  await page.goto(`/orders/${sale.orderId}`);
  await hydrated(page);
  return { context, page };
}

async function onHand(page: Page, sale: Sale): Promise<number> {
  const p = await (await page.request.get(`/api/v1/seller/products/${sale.productId}`)).json();
  return p.variants.find((v: { sku: string }) => v.sku === sale.sku).stock;
}

for (const [device, use] of [
  ["desktop", { viewport: { width: 1280, height: 800 } }],
  ["phone", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }],
] as const) {
  test.describe(`a seller on a ${device}`, () => {
    test.use(use);

    test("cancels a paid order before shipping, and the shopper sees why", async ({ page, browser }) => {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const sale = await sellerWithOrder(page, browser, 2);
      const stockAfterSale = await onHand(page, sale);

      await page.goto("/seller/orders");
      await hydrated(page);
      const row = page.getByTestId("seller-order").filter({ hasText: sale.title });
      await expect(row).toContainText(sale.buyer);
      await expect(row).toContainText("Rotterdam, NL");
      await expect(row).toContainText("express");
      await expect(row).toContainText("rust");
      await row.getByTestId("seller-order-link").click();

      await expect(page.getByRole("heading", { name: `Order #${sale.orderId}` })).toBeVisible();
      await expect(page.getByTestId("buyer")).toContainText("Kade 7");
      await expect(page.getByTestId("shipping-method")).toHaveText("express");
      await expect(page.getByTestId("item-options")).toHaveText("rust");
      await expect(page.getByTestId("item-pick")).toContainText("2 ×");
      // Nothing runs off the side of the screen (wide tables scroll inside their box).
      expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);

      const reason = "The rust ones failed our quality check.";
      await page.getByLabel("Cancel instead: why?").fill(reason);
      await page.getByTestId("cancel-order").click();
      const dialog = page.getByTestId("confirm-dialog");
      await expect(dialog).toContainText("2 units go back to stock");
      await expect(page.getByTestId("confirm-cancel")).toBeFocused();
      await expect(page.getByLabel("Reason")).toHaveValue(reason);
      await page.getByTestId("confirm-cancel").click();
      await expect(dialog).toHaveCount(0);
      await expect(page.getByTestId("seller-order-status")).toHaveText("Cancelled");
      await expect(page.getByTestId("seller-timeline")).toContainText(reason);
      expect(await onHand(page, sale)).toBe(stockAfterSale + 2);

      // Still listed, under Cancelled.
      await page.goto("/seller/orders?state=cancelled");
      await expect(page.getByTestId("seller-order").filter({ hasText: sale.title })).toBeVisible();

      const shopper = await shopperSees(browser, sale);
      await expect(shopper.page.getByTestId("order-status")).toHaveText("Cancelled");
      await expect(shopper.page.getByTestId("cancel-reason")).toContainText(reason);
      await expect(shopper.page.getByTestId("line-options")).toHaveText("(rust)");
      await expect(shopper.page.getByTestId("estimated-delivery")).toHaveCount(0);
      await shopper.context.close();
      expect(errors).toEqual([]);
    });

    test("refunds one unit back into stock, and the shopper sees the refund", async ({ page, browser }) => {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const sale = await sellerWithOrder(page, browser, 2);
      const stockAfterSale = await onHand(page, sale);

      await page.goto(`/seller/orders/${sale.orderId}`);
      await hydrated(page);
      await page.getByPlaceholder("Tracking number").fill("1Z999AA10123456784");
      await page.getByLabel(`Carrier for order ${sale.orderId}`).selectOption("ups");
      await page.getByRole("button", { name: "Mark shipped" }).click();
      await expect(page.getByTestId("seller-order-status")).toHaveText("Shipped");
      await expect(page.getByTestId("tracking").getByRole("link")).toHaveAttribute("href", /ups\.com.*1Z999AA10123456784/);

      // Asked first; going back refunds nothing.
      await page.getByLabel(/units:/).fill("1");
      await page.getByLabel("Put back in stock").check();
      await page.getByTestId("refund-review").click();
      const dialog = page.getByTestId("confirm-dialog");
      await expect(page.getByTestId("refund-plan")).toContainText("1 × " + sale.title + " (rust): €25.00, back in stock");
      await page.getByTestId("confirm-back").click();
      await expect(dialog).toHaveCount(0);
      await expect(page.getByTestId("seller-refunded")).toHaveText("€0.00");

      await page.getByLabel(/units:/).fill("1");
      await page.getByLabel("Put back in stock").check();
      await page.getByTestId("refund-review").click();
      await expect(page.getByTestId("confirm-refund")).toHaveText("Refund €25.00");
      await page.getByTestId("confirm-refund").click();
      await expect(dialog).toHaveCount(0);
      await expect(page.getByTestId("seller-refunded")).toHaveText("€25.00");
      await expect(page.getByTestId("refunds")).toContainText("back in stock");
      expect(await onHand(page, sale)).toBe(stockAfterSale + 1);

      const shopper = await shopperSees(browser, sale);
      await expect(shopper.page.getByTestId("order-refunded")).toHaveText("€25.00");
      await expect(shopper.page.getByTestId("refund")).toHaveCount(1);
      await expect(shopper.page.getByTestId("refund")).toContainText("€25.00");
      await expect(shopper.page.getByTestId("tracking").getByRole("link")).toHaveAttribute("href", /ups\.com/);
      await expect(shopper.page.getByTestId("line-options")).toHaveText("(rust)");
      await shopper.context.close();
      expect(errors).toEqual([]);
    });
  });
}

/** A seller signed in on `page` with one product (`units` in stock, €`price`): its SKU and title. */
async function sellerWithProduct(page: Page, tag: string, name: string, price: number) {
  const r = page.request;
  const reg = await r.post("/api/v1/auth/register", {
    data: { email: `${name.toLowerCase()}-${tag}@example.com`, password: "a good password", role: "seller", seller_name: `${name}'s ${tag}` },
  });
  expect(reg.status()).toBe(201);
  const title = `${name}'s Mug ${tag}`;
  const sku = `MUG-${name.toUpperCase()}-${tag}`;
  const created = await r.post("/api/v1/seller/products", {
    data: { title, brand: name, status: "active", variants: [{ sku, price: { amount: price, currency: "EUR" }, stock: 5 }] },
  });
  expect(created.status()).toBe(201);
  return { title, sku, productId: (await created.json()).product_id as number };
}

test("two sellers each ship their own items of one order; the shopper sees two parcels; a refund by one leaves the other's share", async ({ page, browser }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const tag = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const ann = await sellerWithProduct(page, tag, "Ann", 1500);
  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  bobPage.on("pageerror", (e) => errors.push(String(e)));
  const bob = await sellerWithProduct(bobPage, tag, "Bob", 4000);

  const shopper = await browser.newContext();
  const b = shopper.request;
  expect((await b.post("/api/v1/auth/register", { data: { email: `buyer-${tag}@example.com`, password: "a good password" } })).status()).toBe(201);
  for (const sku of [ann.sku, bob.sku]) expect((await b.post("/api/v1/cart/items", { data: { sku, quantity: 2 } })).ok()).toBe(true);
  const placed = await b.post("/api/v1/orders/checkout", {
    headers: { "Idempotency-Key": `k-${tag}` },
    data: { shipping_address: { name: `Robin ${tag}`, line1: "Kade 7", city: "Rotterdam", postal_code: "3011", country: "NL" }, shipping_method: "standard", payment_method_id: "pm_card_visa" },
  });
  expect(placed.status()).toBe(201);
  const id = (await placed.json()).order_id;

  // Ann sees her items only, and ships them.
  await page.goto(`/seller/orders/${id}`);
  await hydrated(page);
  await expect(page.getByTestId("share-note")).toBeVisible();
  await expect(page.getByTestId("seller-item")).toHaveCount(1);
  await expect(page.getByTestId("seller-item")).toContainText(ann.title);
  await expect(page.locator("main")).not.toContainText(bob.title);
  await expect(page.getByTestId("seller-total")).toHaveText("€30.00");
  await page.getByPlaceholder("Tracking number").fill(`JJD-ANN-${tag}`);
  await page.getByRole("button", { name: "Mark shipped" }).click();
  await expect(page.getByTestId("seller-order-status")).toHaveText("Shipped");

  // Bob's share is still his to ship; he never sees Ann's items or parcel.
  await bobPage.goto(`/seller/orders/${id}`);
  await hydrated(bobPage);
  await expect(bobPage.getByTestId("seller-order-status")).toHaveText("Paid");
  await expect(bobPage.locator("main")).not.toContainText(ann.title);
  await expect(bobPage.locator("main")).not.toContainText(`JJD-ANN-${tag}`);
  await bobPage.getByPlaceholder("Tracking number").fill(`1Z999AA1${tag.slice(-8)}`);
  await bobPage.getByLabel(`Carrier for order ${id}`).selectOption("ups");
  await bobPage.getByRole("button", { name: "Mark shipped" }).click();
  await expect(bobPage.getByTestId("seller-order-status")).toHaveText("Shipped");

  // Ann refunds one of her mugs; Bob's share is as it was.
  await page.reload();
  await hydrated(page);
  await page.getByLabel(/units:/).fill("1");
  await page.getByTestId("refund-review").click();
  await expect(page.getByTestId("confirm-refund")).toHaveText("Refund €15.00");
  await page.getByTestId("confirm-refund").click();
  await expect(page.getByTestId("seller-refunded")).toHaveText("€15.00");
  await bobPage.reload();
  await hydrated(bobPage);
  await expect(bobPage.getByTestId("seller-refunded")).toHaveText("€0.00");
  await expect(bobPage.getByTestId("refunds")).toHaveCount(0);

  // The shopper: one order, two parcels, each with its own tracking number.
  const shopperPage = await shopper.newPage();
  await shopperPage.goto(`/orders/${id}`);
  await hydrated(shopperPage);
  await expect(shopperPage.getByTestId("order-status")).toHaveText("Shipped");
  const parcels = shopperPage.getByTestId("shipment");
  await expect(parcels).toHaveCount(2);
  await expect(parcels.nth(0)).toContainText(`Ann's ${tag}`);
  await expect(parcels.nth(0)).toContainText(`JJD-ANN-${tag}`);
  await expect(parcels.nth(1)).toContainText(`Bob's ${tag}`);
  await expect(parcels.nth(1).getByTestId("tracking").getByRole("link")).toHaveAttribute("href", /ups\.com/);
  await expect(shopperPage.getByTestId("order-refunded")).toHaveText("€15.00");
  expect(await seriousViolations(shopperPage, "shopper's order with two shipments")).toEqual([]);
  expect(await seriousViolations(page, "a seller's share")).toEqual([]);
  await shopper.close();
  await bobContext.close();
  expect(errors).toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the cancel's confirmation is a page, and what was typed stays", async ({ page, browser }) => {
    const sale = await sellerWithOrder(page, browser, 1);
    await page.goto(`/seller/orders/${sale.orderId}`);
    await page.getByTestId("cancel-order").click();
    await expect(page).toHaveURL(/confirm=cancel/);
    // No reason yet: the confirmation asks for it, and refuses without one.
    await page.getByLabel("Reason").fill(" ");
    await page.getByTestId("confirm-cancel").click();
    await expect(page.getByTestId("confirm-dialog")).toContainText("Say why");
    await page.getByLabel("Reason").fill("Out of rust wool.");
    await page.getByTestId("confirm-cancel").click();
    await expect(page).toHaveURL(new RegExp(`/seller/orders/${sale.orderId}$`));
    await expect(page.getByTestId("seller-order-status")).toHaveText("Cancelled");
  });
});

test("the seller's order pages, a confirmation and the packing slip have no serious accessibility violations", async ({ page, browser }) => {
  const sale = await sellerWithOrder(page, browser, 1);
  const id = sale.orderId;
  for (const path of ["/seller/orders", `/seller/orders/${id}`, `/seller/orders/${id}?confirm=cancel&reason=Damaged`, `/seller/orders/${id}/slip`]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    expect(await seriousViolations(page, path)).toEqual([]);
  }
});
