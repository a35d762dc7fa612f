import { test, expect, type Page, type APIRequestContext } from "./fixtures";
import { hydrated } from "./shop";

/** Fails the test on any console error or uncaught exception in the page. */
function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(String(err)));
  return errors;
}

/** Waits until the wasm has hydrated the page (the app marks <body> when it has). */

/** A product whose first two variants differ in price, found through the REST API. */
async function productWithPricedVariants(request: APIRequestContext) {
  const list = await (await request.get("/api/v1/products?category=backpacks&limit=50")).json();
  for (const p of list.products) {
    const detail = await (await request.get(`/api/v1/products/${p.product_id}`)).json();
    const [a, b] = detail.variants;
    if (a && b && a.price.amount !== b.price.amount && a.available > 0 && b.available > 0) return detail;
  }
  throw new Error("the demo catalog should have a backpack with differently priced variants");
}

test("home → category → product, with no console errors", async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Shop by category" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("link", { name: "Clothing", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Clothing" })).toBeVisible();
  await expect(page.getByTestId("product-card").first()).toBeVisible();
  const first = page.getByTestId("product-card").first();
  const title = (await first.locator(".card-title").textContent())!.trim();
  await first.locator(".card-link").click();
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.getByTestId("price")).toContainText("€");
  await expect(page.getByTestId("stock")).toHaveText(/In stock|Only \d+ left|Out of stock/);
  expect(errors).toEqual([]);
});

test("the storefront's files come compressed, named by their content and kept for a year", async ({ page }) => {
  const files: { url: string; headers: Record<string, string> }[] = [];
  page.on("response", async (res) => {
    if (new URL(res.url()).pathname.startsWith("/pkg/")) files.push({ url: res.url(), headers: await res.allHeaders() });
  });
  await page.goto("/");
  await hydrated(page);
  const kinds = [...new Set(files.map((f) => new URL(f.url).pathname.split(".").pop()))].sort();
  expect(kinds).toEqual(["css", "js", "wasm"]);
  for (const f of files) {
    expect(new URL(f.url).pathname, f.url).toMatch(/^\/pkg\/sellout(_bg)?\.[0-9a-f]{20}\.(js|wasm|css)$/);
    expect(f.headers["cache-control"], f.url).toBe("public, max-age=31536000, immutable");
    expect(["br", "gzip"], f.url).toContain(f.headers["content-encoding"]);
  }
});

test("switching a variant updates price and stock without a reload", async ({ page, request }) => {
  const errors = watchConsole(page);
  const product = await productWithPricedVariants(request);
  const [a, b] = product.variants;
  await page.goto(`/p/${product.product_id}?sku=${a.sku}`);
  await hydrated(page);
  await expect(page.getByTestId("sku")).toHaveText(a.sku);
  const priceA = await page.getByTestId("price").textContent();
  // A marker on window survives client-side navigation but not a page load.
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.locator(`a.variant[data-sku="${b.sku}"]`).click();
  await expect(page.getByTestId("sku")).toHaveText(b.sku);
  await expect(page.getByTestId("price")).not.toHaveText(priceA!);
  await expect(page).toHaveURL(new RegExp(`sku=${b.sku}`));
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  await expect(page.locator(`a.variant[data-sku="${b.sku}"]`)).toHaveClass(/selected/);
  expect(errors).toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the product page is readable and variants are links", async ({ page, request }) => {
    const product = await productWithPricedVariants(request);
    const [a, b] = product.variants;
    await page.goto(`/p/${product.product_id}`);
    await expect(page.getByRole("heading", { level: 1, name: product.title })).toBeVisible();
    await expect(page.getByTestId("sku")).toHaveText(a.sku);
    await expect(page.getByTestId("price")).toContainText("€");
    await expect(page.getByText("About this product")).toBeVisible();
    await page.locator(`a.variant[data-sku="${b.sku}"]`).click();
    await expect(page.getByTestId("sku")).toHaveText(b.sku);
  });

  test("category sorting and paging work as plain links and forms", async ({ page }) => {
    await page.goto("/c/electronics");
    await page.getByLabel("Sort by").selectOption("price_asc");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page).toHaveURL(/sort=price_asc/);
    const prices = await page.locator(".card .price").allTextContents();
    const cents = prices.map((p) => Number(p.replace(/[^0-9]/g, "")));
    expect(cents).toEqual([...cents].sort((x, y) => x - y));
    await page.getByRole("link", { name: "Next →" }).click();
    await expect(page.locator(".pagination [aria-current='page']")).toHaveText("2");
  });
});

test("an unknown product shows the 404 page", async ({ page }) => {
  const res = await page.goto("/p/99999999");
  expect(res?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await page.getByRole("link", { name: "Back to the shop" }).click();
  await expect(page.getByRole("heading", { name: "Shop by category" })).toBeVisible();
});
