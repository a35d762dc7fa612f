import * as fs from "node:fs";
import * as path from "node:path";
import { test, expect, type APIRequestContext } from "./fixtures";
import { hydrated } from "./shop";

function uniqueEmail(tag: string) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Products whose first variant is in stock, via the REST API. */
async function inStockProducts(request: APIRequestContext, n: number) {
  const list = await (await request.get("/api/v1/products?limit=40&sort=newest")).json();
  const out = [];
  for (const p of list.products) {
    const d = await (await request.get(`/api/v1/products/${p.product_id}`)).json();
    if (d.variants[0]?.available >= 3) out.push(d);
    if (out.length === n) return out;
  }
  throw new Error("not enough products in stock");
}

test("a guest adds two products, signs up, and finds them in the cart", async ({ page, request }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const [a, b] = await inStockProducts(request, 2);

  await page.goto(`/p/${a.product_id}`);
  await hydrated(page);
  await expect(page.getByTestId("cart-count")).toHaveText("0");
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("added")).toContainText("Added to your cart");
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true); // no reload

  await page.goto(`/p/${b.product_id}`);
  await hydrated(page);
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("3");

  const email = uniqueEmail("guest");
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Create an account" }).click();
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a good password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByTestId("account-link")).toHaveText(email);

  await page.getByRole("link", { name: /^Cart/ }).click();
  const lines = page.getByTestId("cart-line");
  await expect(lines).toHaveCount(2);
  await expect(page.locator(`[data-sku="${a.variants[0].sku}"]`)).toContainText(a.title);
  await expect(page.locator(`[data-sku="${b.variants[0].sku}"] input[name=quantity]`)).toHaveValue("2");
  expect(errors).toEqual([]);
});

test("a wrong password shows an error in place and keeps the email", async ({ page, request }) => {
  const email = uniqueEmail("wrongpw");
  const res = await request.post("/api/v1/auth/register", { data: { email, password: "the real password" } });
  expect(res.status()).toBe(201);
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("do not match");
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page).toHaveURL(/\/signin/);
});

test("registration marks each bad field and keeps what was typed", async ({ page }) => {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#field-email-error")).toContainText("not an email address");
  await expect(page.locator("#field-password-error")).toContainText("at least 8");
  await expect(page.getByLabel("Email")).toHaveValue("not-an-email");
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("add to cart, change the quantity and remove with plain forms", async ({ page, request }) => {
    const [p] = await inStockProducts(request, 1);
    await page.goto(`/p/${p.product_id}`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect(page).toHaveURL(new RegExp(`/p/${p.product_id}`)); // back where we were
    await expect(page.getByTestId("cart-count")).toHaveText("1");
    await page.goto("/cart");
    const line = page.locator(`[data-sku="${p.variants[0].sku}"]`);
    await expect(line).toContainText(p.title);
    await line.locator("input[name=quantity]").fill("3");
    await line.getByRole("button", { name: "Update" }).click();
    await expect(page.locator(`[data-sku="${p.variants[0].sku}"] input[name=quantity]`)).toHaveValue("3");
    await expect(page.getByTestId("cart-count")).toHaveText("3");
    await page.getByRole("button", { name: `Remove ${p.title}` }).click();
    await expect(page.getByTestId("cart-empty")).toBeVisible();
    await expect(page.getByRole("link", { name: "Continue shopping" })).toBeVisible();
  });

  test("a failed sign-in shows the error and keeps the email", async ({ page }) => {
    await page.goto("/signin");
    await page.getByLabel("Email").fill("nobody-here@example.com");
    await page.getByLabel("Password").fill("whatever it is");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toContainText("do not match");
    await expect(page.getByLabel("Email")).toHaveValue("nobody-here@example.com");
  });
});

/** The secret of the newest link mailed to `email` to confirm it, once the outbox has sent it. */
async function mailedLink(email: string, atLeast: number): Promise<string> {
  const log = path.join(process.env.E2E_DATA_DIR ?? "/tmp/sellout-e2e", "mail.log");
  const needle = `To: ${email}\nSubject: Confirm your email address`;
  let tokens: string[] = [];
  await expect
    .poll(() => {
      const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
      tokens = text.split(needle).slice(1).map((m) => /\/account\/verify\?token=([0-9a-f]{64})/.exec(m)?.[1] ?? "");
      return tokens.length;
    }, { timeout: 15_000 })
    .toBeGreaterThanOrEqual(atLeast);
  return tokens[tokens.length - 1];
}

test("a new shopper confirms their email address from the mailed link, after asking for it again", async ({ page }) => {
  const email = uniqueEmail("confirm");
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a good password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("account-link")).toBeVisible();
  await mailedLink(email, 1);

  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByTestId("email-unconfirmed")).toContainText(`${email} is not confirmed yet`);
  await page.getByRole("button", { name: "Send the link again" }).click();
  await expect(page.getByTestId("link-sent")).toBeVisible();
  const token = await mailedLink(email, 2);

  await page.goto(`/account/verify?token=${token}`);
  await hydrated(page);
  await expect(page.getByTestId("email-confirmed")).toHaveCount(0); // opening the link confirms nothing by itself
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByTestId("email-confirmed")).toHaveText("Thank you: your email address is confirmed.");
  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByTestId("email-unconfirmed")).toHaveCount(0);
});
