import { test, expect, type Page } from "./fixtures";
import { hydrated, seriousViolations } from "./shop";


// A 1x1 PNG.
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63908fef060001aa010a77854ac20000000049454e44ae426082",
  "hex",
);

async function registerSeller(page: Page, shop: string) {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(`seller-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`);
  await page.getByLabel("Password").fill("a good password");
  await page.getByLabel("Sell on Sellout").check();
  await page.getByLabel("Shop name (sellers)").fill(shop);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("link", { name: "Seller admin" })).toBeVisible();
}

test("a seller creates a product with a picture and finds it in the storefront search", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const word = `Quillon${Date.now() % 100000}`;
  await registerSeller(page, "Quill & Co");

  await page.getByRole("link", { name: "Seller admin" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByRole("navigation", { name: "Seller admin" }).getByRole("link", { name: "New product" }).click();
  await expect(page.getByRole("heading", { name: "New product" })).toBeVisible();

  // Mistakes are shown in place and what was typed stays.
  await page.getByLabel("Title").fill(`${word} Fountain Pen`);
  await page.getByLabel("Brand").fill("Quill & Co");
  await page.getByLabel("SKU of variant 1").fill(`QP-${word}`);
  await page.getByLabel("Price of variant 1").fill("0");
  await page.getByLabel("Stock of variant 1 in Berlin").fill("-2");
  await page.getByRole("button", { name: "Create product" }).click();
  await expect(page.getByText("A price must be more than 0.")).toBeVisible();
  await expect(page.getByText("Stock cannot be negative.")).toBeVisible();
  await expect(page.getByLabel("Title")).toHaveValue(`${word} Fountain Pen`);

  await page.getByLabel("Category").selectOption({ index: 2 });
  await page.getByLabel("Tags (comma separated)").fill("pen, writing");
  await page.getByLabel("Description").fill("A steel nib that writes smoothly from the first line.");
  // A price that could be a thousand or one is refused, saying how to write either.
  await page.getByLabel("Price of variant 1").fill("1,000");
  await expect(page.getByTestId("price-preview").first()).toContainText("could be read two ways");
  await page.getByRole("button", { name: "Create product" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "type 1000 without a separator" })).toBeVisible();
  // A decimal comma, as shoppers in a euro shop write it: shown back before saving.
  await page.getByLabel("Price of variant 1").fill("24,90");
  await expect(page.getByTestId("price-preview").first()).toHaveText("= €24.90");
  await page.getByLabel("Stock of variant 1 in Berlin").fill("12");
  await page.getByRole("button", { name: "Create product" }).click();
  await expect(page.getByText("Product created")).toBeVisible();
  const mine = await (await page.request.get("/api/v1/seller/products")).json();
  const saved = (mine.products ?? mine).find((p: any) => p.title === `${word} Fountain Pen`);
  const detail = await (await page.request.get(`/api/v1/seller/products/${saved.product_id}`)).json();
  expect(detail.variants[0].price).toEqual({ amount: 2490, currency: "EUR" });
  await expect(page.getByTestId("product-status")).toHaveText("Draft");

  await page.getByLabel("Add a picture").setInputFiles({ name: "pen.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("picture")).toHaveCount(1);
  // Not a picture: refused with a message, nothing added.
  await page.getByLabel("Add a picture").setInputFiles({ name: "notes.png", mimeType: "image/png", buffer: Buffer.from("just text") });
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("picture-error")).toContainText("not a picture");
  await expect(page.getByTestId("picture")).toHaveCount(1);

  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByTestId("product-status")).toHaveText("Published");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true); // client-side all along

  // The index follows within a second: search until it is there.
  const card = page.getByRole("listitem").filter({ hasText: `${word} Fountain Pen` });
  await expect(async () => {
    await page.goto(`/search?q=${word}`);
    await expect(card).toHaveCount(1, { timeout: 500 });
  }).toPass({ timeout: 5_000 });
  await hydrated(page);
  await expect(card.locator("img")).toHaveAttribute("src", /^\/media\/products\/.+\.png$/);
  await card.getByRole("link").first().click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`${word} Fountain Pen`);
  await expect(page.getByText("€24.90").first()).toBeVisible();
  expect(errors).toEqual([]);
});

test("the seller admin asks shoppers and guests to sign in as a seller", async ({ page }) => {
  const res = await page.goto("/seller");
  expect(res?.status()).toBe(401);
  await expect(page.locator("#main").getByRole("link", { name: "Sign in" })).toBeVisible();
});

test("the seller admin pages have no serious accessibility violations", async ({ page }) => {
  await registerSeller(page, "Axe Tools");
  for (const path of ["/seller", "/seller/products", "/seller/products/new", "/seller/products/1", "/seller/sales", "/seller/sales/new"]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    expect(await seriousViolations(page, path)).toEqual([]);
  }
});

test("a seller makes an API token in the admin, a program uses it, and revoking stops it", async ({ page, playwright, baseURL, browser }) => {
  await registerSeller(page, "Token Works");
  await page.getByRole("link", { name: "Seller admin" }).click();
  await page.getByRole("navigation", { name: "Seller admin" }).getByRole("link", { name: "API tokens" }).click();
  await hydrated(page);
  const tokens = page.locator("#tokens");
  await expect(tokens.getByTestId("no-tokens")).toBeVisible();

  // Mistakes are named in place and the name stays.
  await tokens.getByLabel("Name").fill("stock sync");
  await tokens.getByRole("button", { name: "Make token" }).click();
  await expect(tokens.getByText("Choose at least one thing the token may do.")).toBeVisible();
  await expect(tokens.getByLabel("Name")).toHaveValue("stock sync");
  await tokens.getByLabel(/Read your catalog/).check();
  await tokens.getByLabel(/Change your catalog and stock/).check();
  await tokens.getByRole("button", { name: "Make token" }).click();
  const secret = (await tokens.getByTestId("new-token-secret").innerText()).trim();
  expect(secret).toMatch(/^so_[0-9a-f]{64}$/);
  await expect(tokens.getByTestId("token")).toHaveCount(1);
  await expect(tokens.getByTestId("token")).toContainText("catalog:write");
  await expect(tokens.getByTestId("token")).toContainText("Never");

  // A program with the token and no cookie.
  const program = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${secret}` } });
  expect((await program.get("/api/v1/seller/products")).status()).toBe(200);
  await page.reload();
  await hydrated(page);
  await expect(tokens.getByTestId("token")).not.toContainText("Never");
  await expect(tokens.getByTestId("new-token"), "the secret is shown only once").toHaveCount(0);

  await tokens.getByRole("button", { name: "Revoke stock sync" }).click();
  await expect(tokens.getByTestId("token")).toContainText("Revoked");
  expect((await program.get("/api/v1/seller/products")).status()).toBe(401);
  await program.dispose();

  // Before the wasm (or without it) the form works too, and the secret is shown once.
  const plain = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
  const noJs = await plain.newPage();
  await noJs.goto("/account");
  await noJs.locator("#tokens").getByLabel("Name").fill("export");
  await noJs.locator("#tokens").getByLabel(/Cart, checkout and orders/).check();
  await noJs.locator("#tokens").getByRole("button", { name: "Make token" }).click();
  await expect(noJs.locator("#tokens").getByTestId("new-token-secret")).toHaveText(/^so_[0-9a-f]{64}$/);
  await noJs.reload();
  await expect(noJs.locator("#tokens").getByTestId("token")).toHaveCount(2);
  await expect(noJs.locator("#tokens").getByTestId("new-token")).toHaveCount(0);
  await plain.close();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a seller creates a product with two variants and edits its price with plain forms", async ({ page }) => {
    const tag = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const reg = await page.request.post("/api/v1/auth/register", {
      data: { email: `nojs-${tag}@example.com`, password: "a good password", role: "seller", seller_name: `Plain ${tag}` },
    });
    expect(reg.status()).toBe(201);
    await page.goto("/seller/products/new");
    await page.getByLabel("Title").fill(`Plain Mug ${tag}`);
    await page.getByLabel("Brand").fill("Stoneware Co");
    await page.getByLabel("SKU of variant 1").fill(`PM-${tag}-S`);
    await page.getByLabel("Options of variant 1, e.g. colour: navy, size: M").fill("size: small");
    await page.getByLabel("Price of variant 1").fill("12,50");
    await page.getByLabel("Stock of variant 1 in Berlin").fill("4");
    await page.getByLabel("SKU of variant 2").fill(`PM-${tag}-L`);
    await page.getByLabel("Options of variant 2, e.g. colour: navy, size: M").fill("size: large");
    await page.getByLabel("Price of variant 2").fill("abc");
    await page.getByRole("button", { name: "Create product" }).click();
    // Refused: back on the form, the problem beside its field, everything as typed.
    await expect(page).toHaveURL(/\/seller\/products\/new\?form=/);
    await expect(page.getByText('"abc" is not a price')).toBeVisible();
    await expect(page.getByLabel("Title")).toHaveValue(`Plain Mug ${tag}`);
    await expect(page.getByLabel("SKU of variant 2")).toHaveValue(`PM-${tag}-L`);
    await expect(page.getByLabel("Price of variant 1")).toHaveValue("12,50");
    await page.getByLabel("Price of variant 2").fill("15");
    await page.getByRole("button", { name: "Create product" }).click();
    await expect(page).toHaveURL(/\/seller\/products\/\d+\?notice=/);
    await expect(page.getByText("Product created")).toBeVisible();
    const id = Number(new URL(page.url()).pathname.split("/").pop());

    // The edit form comes filled from the server.
    await expect(page.getByLabel("Title")).toHaveValue(`Plain Mug ${tag}`);
    await expect(page.getByLabel("Price of variant 1")).toHaveValue("12.50");
    await expect(page.getByLabel("Price of variant 2")).toHaveValue("15.00");
    await page.getByLabel("Price of variant 1").fill("13,90");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByText("Saved", { exact: true })).toBeVisible();
    await expect(page.getByLabel("Price of variant 1")).toHaveValue("13.90");
    const saved = await (await page.request.get(`/api/v1/seller/products/${id}`)).json();
    const prices = Object.fromEntries(saved.variants.map((v: any) => [v.sku, v.price.amount]));
    expect(prices).toEqual({ [`PM-${tag}-S`]: 1390, [`PM-${tag}-L`]: 1500 });
  });
});
