import { test, expect } from "./fixtures";
import { expectPaidOrder, fillAddress, hydrated, inStockProduct, shopperWithCart } from "./shop";

test("a shopper buys with a test card and sees the paid order", async ({ page, request }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const product = await shopperWithCart(page, request);
  await expect(page.getByTestId("test-cards")).toContainText("test cards only");

  // A mistake first: the field says what is wrong, what was typed stays.
  await fillAddress(page);
  await page.getByLabel("Country code").fill("Germany");
  await page.getByRole("button", { name: "Place order" }).click();
  await expect(page.getByText("Use the two-letter country code")).toBeVisible();
  await expect(page.getByLabel("City")).toHaveValue("Berlin");
  await page.getByLabel("Country code").fill("DE");

  const standardTotal = await page.getByTestId("total").textContent();
  await page.getByLabel(/Express, \d working days/).check();
  await expect(page.getByTestId("total")).not.toHaveText(standardTotal!);
  const total = await page.getByTestId("total").textContent();
  await page.getByLabel("Visa, succeeds").check();
  await page.getByRole("button", { name: "Place order" }).click();

  await expectPaidOrder(page, total!, product.title);
  await page.getByRole("link", { name: "All your orders" }).click();
  await expect(page.getByTestId("order-row")).toHaveCount(1);
  expect(errors).toEqual([]);
});

test("a declined card, then another card that pays", async ({ page, request }) => {
  await shopperWithCart(page, request);
  await fillAddress(page);
  await page.getByLabel("Visa, declined").check();
  await page.getByRole("button", { name: "Place order" }).click();
  await expect(page.getByTestId("declined")).toContainText("declined");
  await expect(page.getByTestId("order-status")).toHaveText("Awaiting payment");
  await page.getByLabel("Visa, succeeds").check();
  await page.getByRole("button", { name: "Pay now" }).click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  // Changed their mind: cancelled within the window, after saying yes.
  await page.getByRole("button", { name: "Cancel order…" }).click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("hold on your card is released");
  await page.getByTestId("confirm-cancel-order").click();
  await expect(page.getByTestId("order-status")).toHaveText("Cancelled");
  await expect(page.getByTestId("confirm-dialog")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Cancel order" })).toHaveCount(0);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });
  test("checkout works as a plain form", async ({ page, request }) => {
    // Sign up and fill the cart through plain forms too.
    const product = await inStockProduct(request);
    await page.goto("/register");
    await page.getByLabel("Email").fill(`nojs-${Date.now()}@example.com`);
    await page.getByLabel("Password").fill("a good password");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.goto(`/p/${product.product_id}`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await page.goto("/checkout");
    await fillAddress(page);
    await page.getByRole("button", { name: "Place order" }).click();
    await expect(page.getByTestId("order-status")).toHaveText("Paid");
  });
});

test("a seller ships, delivers and refunds an order in the admin", async ({ page, browser }) => {
  const tag = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(`seller-${tag}@example.com`);
  await page.getByLabel("Password").fill("a good password");
  await page.getByLabel("Sell on Sellout").check();
  await page.getByLabel("Shop name (sellers)").fill(`Shop ${tag}`);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("link", { name: "Seller admin" })).toBeVisible();
  const sku = `SHIP-${tag}`;
  const created = await page.request.post("/api/v1/seller/products", {
    data: { title: `Parcel ${tag}`, brand: "Ship Co", status: "active", variants: [{ sku, price: { amount: 1200, currency: "EUR" }, stock: 5 }] },
  });
  expect(created.status()).toBe(201);

  // A buyer in another browser profile orders it.
  const buyer = await browser.newContext();
  const r = buyer.request;
  expect((await r.post("/api/v1/auth/register", { data: { email: `b-${tag}@example.com`, password: "a good password" } })).status()).toBe(201);
  expect((await r.post("/api/v1/cart/items", { data: { sku, quantity: 1 } })).ok()).toBe(true);
  const order = await r.post("/api/v1/orders/checkout", {
    headers: { "Idempotency-Key": `k-${tag}` },
    data: { shipping_address: { name: "B", line1: "Way 1", city: "Rotterdam", postal_code: "3011", country: "NL" }, shipping_method: "standard", payment_method_id: "pm_card_visa" },
  });
  expect(order.status()).toBe(201);
  await buyer.close();

  await page.goto("/seller/orders");
  await hydrated(page);
  const row = page.getByTestId("seller-order").filter({ hasText: `Parcel ${tag}` });
  await row.getByPlaceholder("Tracking number").fill("PNL 123456");
  await row.getByRole("button", { name: "Mark shipped" }).click();
  await expect(row).toContainText("Shipped");
  await expect(row).toContainText("PNL 123456");
  await row.getByRole("button", { name: "Mark delivered" }).click();
  await expect(row).toContainText("Delivered");
  // Refunding happens on the order's page, after a confirmation.
  await row.getByTestId("seller-order-link").click();
  await page.getByTestId("refund-all").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("Everything not refunded yet");
  await page.getByTestId("confirm-refund").click();
  await expect(page.getByTestId("confirm-dialog")).toHaveCount(0);
  await expect(page.getByTestId("seller-order-status")).toHaveText("Refunded");
});
