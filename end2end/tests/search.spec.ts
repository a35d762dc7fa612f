import { test, expect, type Page } from "./fixtures";

async function searchFromHeader(page: Page, words: string) {
  await page.getByLabel("Search products").fill(words);
  await page.getByLabel("Search products").press("Enter");
  await expect(page.getByRole("heading", { level: 1 })).toContainText(words);
}

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js });

    test("search → filter by brand → open a product", async ({ page }) => {
      await page.goto("/");
      if (js) await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
      await searchFromHeader(page, "backpack");
      const total = Number((await page.getByTestId("result-count").textContent())!.replace(/\D/g, ""));
      expect(total).toBeGreaterThan(1);

      // Pick a brand from the facet sidebar; its count is the number of results after.
      const brand = page.getByTestId("facet-brands").locator("a").first();
      const brandName = (await brand.textContent())!.replace(/^[☐☑]\s*/, "").replace(/\s*\d+$/, "").trim();
      const count = Number((await brand.locator(".count").textContent())!.trim());
      await brand.click();
      await expect(page).toHaveURL(new RegExp(`brand=${encodeURIComponent(brandName).replace(/%20/g, "(\\+|%20)")}`));
      await expect(page.getByTestId("result-count")).toHaveText(`${count} products`);
      await expect(page.getByTestId("active-filters")).toContainText(`Brand: ${brandName}`);
      const cards = page.getByTestId("product-card");
      await expect(cards).toHaveCount(Math.min(count, 24));
      for (const b of await cards.locator(".card-brand").allTextContents()) expect(b.trim()).toBe(brandName);

      // The back button returns to the unfiltered results.
      await page.goBack();
      await expect(page.getByTestId("result-count")).toHaveText(`${total} products`);
      await page.goForward();
      await expect(page.getByTestId("result-count")).toHaveText(`${count} products`);

      const title = (await cards.first().locator(".card-title").textContent())!.trim();
      await cards.first().locator(".card-link").click();
      await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
    });
  });
}

test("a search with no matches shows an empty state with a way out", async ({ page }) => {
  await page.goto("/search?q=%22%22%22zzqx");
  await expect(page.getByTestId("no-results")).toBeVisible();
  await page.getByRole("link", { name: "Start over" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("All products");
});

test("the header suggests products while typing and the keyboard picks one", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
  const box = page.getByRole("combobox", { name: "Search products" });
  await box.pressSequentially("backpa", { delay: 30 });
  const options = page.getByRole("option");
  await expect(options.first()).toBeVisible();
  await expect(box).toHaveAttribute("aria-expanded", "true");
  const first = (await options.first().locator(".suggestion-title").textContent())!.trim();
  await box.press("ArrowDown");
  await expect(options.first()).toHaveAttribute("aria-selected", "true");
  await box.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: first })).toBeVisible();
});

test("Escape closes the suggestions and Enter without a choice searches", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
  const box = page.getByRole("combobox", { name: "Search products" });
  await box.pressSequentially("lamp", { delay: 30 });
  await expect(page.getByRole("option").first()).toBeVisible();
  await box.press("Escape"); // (Chromium also clears a search field on Escape)
  await expect(page.getByRole("listbox")).toBeHidden();
  await box.pressSequentially("lamp", { delay: 30 });
  await expect(page.getByRole("option").first()).toBeVisible();
  await box.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=lamp/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("lamp");
});
