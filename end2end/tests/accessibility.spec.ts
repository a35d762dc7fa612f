import { test, expect } from "./fixtures";
import { seriousViolations } from "./shop";

// WCAG 2.1 A/AA rules from axe-core on the main shopper pages; any serious or critical
// violation fails, with the rule and the offending elements in the message.
const pages = ["/", "/c/clothing", "/p/1", "/search?q=lamp", "/cart", "/sales", "/signin", "/register", "/no/such/page"];

for (const path of pages) {
  test(`no serious accessibility violations on ${path}`, async ({ page }) => {
    await page.goto(path);
    await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
    expect(await seriousViolations(page)).toEqual([]);
  });
}

test("the storefront can be used with the keyboard alone", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.locator(".logo")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Search products")).toBeFocused();
  await page.keyboard.type("boot");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=boot/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("boot");
});
