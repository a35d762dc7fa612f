// The Content-Security-Policy at work in a real browser: a script that got into a page without
// the nonce of the response that carried it (none at all, or an earlier response's) does not
// run, the browser reports it, and the page still works. (Every other test fails on any report:
// `fixtures.ts`.) What the policy stops is markup that got into a page, as text someone typed
// would if it escaped its escaping; under 'strict-dynamic' a script already running may add
// others (the storefront's module and Stripe.js come so), so a script made by one is not refused.
import { test, expect } from "./fixtures";
import { hydrated } from "./shop";

/** The nonce a response's policy allows. */
function nonceOf(policy: string | undefined): string {
  const nonce = /'nonce-([^']+)'/.exec(policy ?? "")?.[1];
  expect(nonce, `a nonce in ${policy}`).toBeTruthy();
  return nonce!;
}

test("a script without this response's nonce is refused and reported, and the page still works", async ({ page, policyViolations }) => {
  // The sign-in page is rendered afresh for every request: each answer has a nonce of its own.
  const earlier = nonceOf((await page.request.get("/signin")).headers()["content-security-policy"]);
  let served = "";
  // As if text someone typed had got past the escaping: two scripts the shop never sent.
  await page.route("**/signin", async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers["content-encoding"];
    delete headers["content-length"];
    served = nonceOf(headers["content-security-policy"]);
    const injected = `<script>window.__plain = "ran"</script><script nonce="${earlier}">window.__stale = "ran"</script>`;
    await route.fulfill({ status: response.status(), headers, body: (await response.text()).replace("</body>", `${injected}</body>`) });
  });
  await page.goto("/signin");
  await hydrated(page);
  expect(served).not.toBe(earlier);
  expect(await page.evaluate(() => [(window as any).__plain, (window as any).__stale])).toEqual([undefined, undefined]);
  await expect.poll(() => policyViolations.length).toBe(2);
  for (const v of policyViolations) expect(v).toMatch(/^\/signin: script-src(-elem)? refused inline/);
  // The shop's own scripts ran: the page hydrated and its form answers.
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  // Seen and expected: not a failure of this test.
  policyViolations.length = 0;
});
