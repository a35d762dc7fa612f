// A sale on a phone (390×844), as a shopper lives it: no page wider than the screen, signed in
// or not, shopper or seller (and none at desktop width either); a new shopper who signs up from
// the sale comes back to it; one websocket per tab however often they navigate, closed when
// they leave, each pushed event received once; search results before the filters.
import { test, expect, type Browser, type Page } from "./fixtures";
import { hydrated } from "./shop";

const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 800 };

test.use({ viewport: phone });

/** A seller (their browser context) with a published product and a sale of it starting in `startsIn` seconds. */
async function sellerWithSale(browser: Browser, startsIn: number) {
  const tag = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const seller = await browser.newContext({ viewport: phone });
  const r = seller.request;
  expect((await r.post("/api/v1/auth/register", { data: { email: `ph-${tag}@example.com`, password: "a good password", role: "seller", seller_name: `Phone Shop ${tag}` } })).status()).toBe(201);
  const sku = `PH-${tag}`;
  const product = await r.post("/api/v1/seller/products", {
    data: { title: `Pocket Lamp ${tag}`, brand: "Lumo", status: "active", variants: [{ sku, price: { amount: 4999, currency: "EUR" }, stock: 5 }] },
  });
  expect(product.status()).toBe(201);
  const at = (s: number) => new Date(Date.now() + s * 1000).toISOString();
  const input = { sku, price: { amount: 2999, currency: "EUR" }, starts_at: at(startsIn), ends_at: at(7200), allocation: 2, per_buyer_limit: 1, admission_rate: 50 };
  const sale = await r.post("/api/v1/seller/sales", { data: input });
  expect(sale.status()).toBe(201);
  const id = (await sale.json()).sale_id as number;
  /** Brings the start to two seconds from now. */
  const startSoon = async () => expect((await r.put(`/api/v1/seller/sales/${id}`, { data: { ...input, starts_at: at(2) } })).status()).toBe(200);
  return { seller, id, productId: (await product.json()).product_id as number, startSoon };
}

/** What sticks out past the right edge of the viewport on `page` (empty: nothing). */
async function widerThanScreen(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    const out: string[] = [`page is ${document.documentElement.scrollWidth}px wide on a ${width}px screen`];
    // Inside something that scrolls sideways by itself (a wide table) is not the page's width,
    // unless it is positioned against a box outside that scroller.
    const clipped = (el: Element) => {
      let a = el.parentElement;
      if (getComputedStyle(el).position === "absolute") {
        while (a && a !== document.body && getComputedStyle(a).position === "static") a = a.parentElement;
      }
      for (; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== "visible") return true;
      }
      return false;
    };
    for (const el of Array.from(document.body.querySelectorAll("*"))) {
      const r = el.getBoundingClientRect();
      if (r.right > width + 1 && r.width > 0 && !clipped(el)) {
        const id = el.id ? `#${el.id}` : "";
        const cls = el.getAttribute("class") ? `.${el.getAttribute("class")!.split(" ").join(".")}` : "";
        out.push(`${el.tagName.toLowerCase()}${id}${cls} reaches ${Math.round(r.right)}px`);
        if (out.length > 6) break;
      }
    }
    return out;
  });
}

async function everyPageFits(page: Page, paths: string[]) {
  const problems: string[] = [];
  for (const size of [phone, desktop]) {
    await page.setViewportSize(size);
    for (const path of paths) {
      await page.goto(path);
      await hydrated(page);
      for (const p of await widerThanScreen(page)) problems.push(`${size.width}px ${path}: ${p}`);
    }
  }
  await page.setViewportSize(phone);
  expect(problems).toEqual([]);
}

test("no page is wider than a phone or a desktop screen, signed in or not, shopper or seller", async ({ browser }) => {
  test.setTimeout(120_000);
  const { seller, id, productId } = await sellerWithSale(browser, 3600);
  const guest = await (await browser.newContext({ viewport: phone })).newPage();
  await everyPageFits(guest, ["/", "/sales", `/sales/${id}`, `/p/${productId}`, "/search?q=lamp", "/cart", "/signin", "/register"]);

  // A shopper with a long address (the header shows it) and something in the cart.
  const shopper = await (await browser.newContext({ viewport: phone })).newPage();
  const email = `a-rather-long-name-for-a-phone-${Date.now()}@example-shop-domain.com`;
  expect((await shopper.request.post("/api/v1/auth/register", { data: { email, password: "a good password" } })).status()).toBe(201);
  const variant = (await (await shopper.request.get(`/api/v1/products/${productId}`)).json()).variants[0];
  expect((await shopper.request.post("/api/v1/cart/items", { data: { sku: variant.sku, quantity: 1 } })).status()).toBeLessThan(300);
  await everyPageFits(shopper, ["/", "/sales", `/sales/${id}`, `/p/${productId}`, "/search?q=lamp", "/cart", "/checkout", "/account", "/orders", "/wishlist"]);

  const admin = await seller.newPage();
  await everyPageFits(admin, ["/seller", "/seller/products", "/seller/products/new", `/seller/products/${productId}`, "/seller/sales", "/seller/sales/new", `/seller/sales/${id}`, "/account"]);
  await seller.close();
});

test("a new shopper signs up from the sale and comes back to it; one socket per tab, closed on leaving", async ({ browser }) => {
  test.setTimeout(60_000);
  const { seller, id, startSoon } = await sellerWithSale(browser, 3600);
  const page = await (await browser.newContext({ viewport: phone })).newPage();
  const sockets: { url: string; closed: boolean; starts: number }[] = [];
  page.on("websocket", (ws) => {
    const s = { url: ws.url(), closed: false, starts: 0 };
    sockets.push(s);
    ws.on("close", () => (s.closed = true));
    ws.on("framereceived", (f) => {
      if (String(f.payload).includes('"sale_started"')) s.starts += 1;
    });
  });
  const open = () => sockets.filter((s) => !s.closed).length;

  // Sign in to join → Create an account → back on the sale, signed in.
  await page.goto(`/sales/${id}`);
  await hydrated(page);
  await page.getByRole("link", { name: "Sign in to join" }).click();
  await expect(page).toHaveURL(/\/signin\?next=/);
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL(new RegExp(`/register\\?next=%2Fsales%2F${id}$`));
  await hydrated(page);
  await page.getByLabel("Email").fill(`phone-${Date.now()}@example.com`);
  await page.getByLabel("Password").fill("a good password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(new RegExp(`/sales/${id}$`));
  await expect(page.getByTestId("join")).toBeVisible();
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));

  // Back and forth inside the app (no reload): one socket while on the sale, none elsewhere.
  for (let i = 0; i < 3; i++) {
    await expect.poll(open).toBe(1);
    await page.locator('header a[href="/sales"]').click();
    await expect(page.getByRole("heading", { name: "Flash sales" })).toBeVisible();
    await expect.poll(open).toBe(0);
    await page.locator(`a[href="/sales/${id}"]`).first().click();
    await expect(page.getByTestId("sale")).toBeVisible();
  }
  await expect.poll(open).toBe(1);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  // The start is pushed once, to the one socket left open.
  await startSoon();
  await expect(page.getByTestId("sale-state")).toHaveText("Live now", { timeout: 20_000 });
  expect(sockets.map((s) => s.starts).reduce((a, b) => a + b, 0)).toBe(1);
  expect(open()).toBe(1);
  await seller.close();
});

test("on a phone the search results come first and the filters open from a button, without the wasm too", async ({ browser }) => {
  for (const javaScriptEnabled of [true, false]) {
    const page = await (await browser.newContext({ viewport: phone, javaScriptEnabled })).newPage();
    await page.goto("/search?q=lamp");
    if (javaScriptEnabled) await hydrated(page);
    const results = page.getByRole("region", { name: "Results" }).getByRole("listitem").first();
    await expect(results).toBeInViewport();
    await expect(page.getByTestId("facet-brands")).toBeHidden();
    await page.getByTestId("filters-toggle").click();
    await expect(page.getByTestId("facet-brands")).toBeVisible();
    await page.getByTestId("facet-brands").locator("a").first().click();
    await expect(page).toHaveURL(/brand=/);
    await page.context().close();
  }
  // At desktop width the filters stand beside the results, no button.
  const wide = await (await browser.newContext({ viewport: desktop })).newPage();
  await wide.goto("/search?q=lamp");
  await expect(wide.getByTestId("facet-brands")).toBeVisible();
  await expect(wide.getByTestId("filters-toggle")).toBeHidden();
  await wide.context().close();
});

test("times show in the shopper's own time zone once the page is live, in UTC before", async ({ browser }) => {
  const { seller, id } = await sellerWithSale(browser, 3600);
  const starts = (await (await seller.request.get(`/api/v1/sales/${id}`)).json()).starts_at as string;
  await seller.close();
  for (const javaScriptEnabled of [true, false]) {
    const page = await (await browser.newContext({ viewport: phone, timezoneId: "Asia/Tokyo", locale: "en-US", javaScriptEnabled })).newPage();
    await page.goto(`/sales/${id}`);
    const time = page.getByTestId("countdown").locator("time");
    await expect(time).toHaveAttribute("datetime", starts);
    if (javaScriptEnabled) {
      await hydrated(page);
      await expect(time).toContainText("GMT+9");
    } else {
      await expect(time).toContainText("UTC");
    }
    await page.context().close();
  }
});

test("a seller enters a sale's times in their own time zone (UTC before the wasm) and the editor says what a sale set aside", async ({ browser }) => {
  const { seller, productId } = await sellerWithSale(browser, 3600);
  const cookies = await seller.cookies();
  const sku = (await (await seller.request.get(`/api/v1/seller/products/${productId}`)).json()).variants[0].sku as string;
  // The day after tomorrow at noon, as typed in the form; Tokyo has no summer time (UTC+9).
  const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
  for (const javaScriptEnabled of [true, false]) {
    const context = await browser.newContext({ viewport: phone, timezoneId: "Asia/Tokyo", locale: "en-US", javaScriptEnabled });
    await context.addCookies(cookies);
    const page = await context.newPage();
    await page.goto("/seller/sales/new");
    if (javaScriptEnabled) {
      await hydrated(page);
      await expect(page.getByTestId("starts_at-zone")).toHaveText("In your own time zone (Asia/Tokyo).");
    } else {
      await expect(page.getByTestId("starts_at-zone")).toHaveText("In UTC.");
    }
    await page.getByLabel("Variant").selectOption(sku);
    await page.getByLabel("Sale price").fill("19.99");
    await page.getByLabel("Starts").fill(`${day}T12:00`);
    await page.getByLabel("Ends").fill(`${day}T14:30`);
    await page.getByLabel("Units").fill("1");
    await page.getByRole("button", { name: "Schedule the sale" }).click();
    await expect(page).toHaveURL(/\/seller\/sales\/\d+$/);
    const id = page.url().split("/").pop();
    const sale = await (await seller.request.get(`/api/v1/sales/${id}`)).json();
    expect([sale.starts_at, sale.ends_at]).toEqual(
      javaScriptEnabled ? [`${day}T03:00:00Z`, `${day}T05:30:00Z`] : [`${day}T12:00:00Z`, `${day}T14:30:00Z`],
    );
    await context.close();
  }
  // Three sales set aside 2 + 1 + 1 of the 5 units: the editor's stock shows what is left and says why.
  expect((await (await seller.request.get(`/api/v1/seller/products/${productId}`)).json()).variants[0].stock).toBe(1);
  const editor = await seller.newPage();
  await editor.goto(`/seller/products/${productId}`);
  const notes = editor.getByTestId("set-aside").locator("li");
  await expect(notes).toHaveCount(3);
  await expect(notes.first()).toContainText(`2 units of ${sku} are set aside for flash sale`);
  await expect(notes.nth(1)).toContainText(`1 unit of ${sku} is set aside for flash sale`);
  await seller.close();
});
