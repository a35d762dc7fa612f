import { test, expect } from "./fixtures";
import { hydrated } from "./shop";


test("a shopper saves a product to the wishlist and reviews it", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(`ria.nova-${Date.now()}@example.com`);
  await page.getByLabel("Password").fill("a good password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("account-link")).toBeVisible();

  await page.goto("/p/2");
  await hydrated(page);
  const title = await page.getByRole("heading", { level: 1 }).textContent();
  await page.evaluate(() => ((window as any).__noReload = true));
  // The reviews section hydrates a moment after the page: click once its form is live.
  await expect(page.locator("form.wishlist-form[data-live='true']")).toHaveCount(1);
  await page.getByTestId("wishlist-button").click();
  await expect(page.getByTestId("wishlist-button")).toHaveText(/Saved to your wishlist/);

  // No stars chosen: the error is shown in place, the text stays.
  await page.getByLabel("Your review (optional)").fill("Sturdy, <b>not</b> fancy.");
  await page.getByRole("button", { name: "Save review" }).click();
  await expect(page.getByText("Choose from 1 to 5 stars.")).toBeVisible();
  await expect(page.getByLabel("Your review (optional)")).toHaveValue("Sturdy, <b>not</b> fancy.");
  await page.getByLabel("4 stars").check();
  await page.getByRole("button", { name: "Save review" }).click();
  const mine = page.getByTestId("review").filter({ hasText: "(yours)" });
  await expect(mine).toContainText("Sturdy, <b>not</b> fancy."); // shown as text, not markup
  await expect(mine).toContainText("Ria N.");
  // Not bought here: shown apart, not counted in the rating.
  await expect(page.getByTestId("other-reviews")).toContainText("Ria N.");
  await expect(page.getByText("They are not counted in the rating.")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Edit your review" })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  await page.getByRole("link", { name: "Wishlist" }).click();
  await expect(page.getByRole("heading", { name: "Your wishlist" })).toBeVisible();
  await expect(page.getByRole("listitem").filter({ hasText: title!.trim() }).first()).toBeVisible();
  await page.getByRole("button", { name: `Remove ${title!.trim()}` }).click();
  await expect(page.getByText("Nothing saved yet.")).toBeVisible();
  expect(errors).toEqual([]);
});
