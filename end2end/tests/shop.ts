// Helpers the browser tests share: wait for hydration, find stock, fill a cart and an address.
import { expect, type Page, type APIRequestContext } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
}

export async function inStockProduct(request: APIRequestContext) {
  const list = await (await request.get("/api/v1/products?limit=40&sort=price_asc")).json();
  for (const p of list.products) {
    const d = await (await request.get(`/api/v1/products/${p.product_id}`)).json();
    if (d.variants[0]?.available >= 3) return d;
  }
  throw new Error("no product in stock");
}

export async function shopperWithCart(page: Page, request: APIRequestContext) {
  const product = await inStockProduct(request);
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(`buyer-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`);
  await page.getByLabel("Password").fill("a good password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("account-link")).toBeVisible();
  await page.goto(`/p/${product.product_id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await page.getByRole("link", { name: /^Cart/ }).click();
  await page.getByRole("link", { name: "Proceed to checkout" }).click();
  await expect(page.getByRole("heading", { name: "Checkout" })).toBeVisible();
  return product;
}

export async function fillAddress(page: Page) {
  await page.getByLabel("Full name").fill("Ria Nova");
  await page.getByLabel("Street and number").fill("Linienstraße 12");
  await page.getByLabel("Postal code").fill("10119");
  await page.getByLabel("City").fill("Berlin");
  await page.getByLabel("Country code").fill("DE");
}

/** The order page after a successful purchase: paid, with this total and product, cart empty. */
export async function expectPaidOrder(page: Page, total: string, title: string) {
  await expect(page.getByTestId("order-placed")).toBeVisible();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  await expect(page.getByTestId("order-total")).toHaveText(total);
  await expect(page.getByTestId("order-line")).toContainText(title);
  await expect(page.getByTestId("cart-count")).toHaveText("0");
}

/** The page's serious or critical WCAG 2.1 A/AA violations by axe-core, each with its rule and
 *  the offending elements (prefixed with `label`, e.g. the path), for `toEqual([])`. */
export async function seriousViolations(page: Page, label = ""): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${label ? label + " " : ""}${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`);
}
