/**
 * Playwright's `test` with one addition for every test: any Content-Security-Policy violation
 * the browser reports, on any page of any context the test opens, fails the test.
 */
import { test as base, expect, type Browser, type BrowserContext } from "@playwright/test";

export * from "@playwright/test";

async function watchPolicy(context: BrowserContext, seen: string[]) {
  await context.exposeBinding("__sellout_csp_violation", (_source, text: string) => {
    seen.push(text);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const report = (window as unknown as { __sellout_csp_violation?: (t: string) => void }).__sellout_csp_violation;
      report?.(`${location.pathname}: ${e.effectiveDirective} refused ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
}

export const test = base.extend<{ policyViolations: string[] }>({
  policyViolations: [
    async ({ context, browser }, use) => {
      const seen: string[] = [];
      await watchPolicy(context, seen);
      // Contexts the test opens itself (a second shopper, a seller) are watched too.
      const newContext = browser.newContext.bind(browser);
      (browser as Browser).newContext = async (options) => {
        const made = await newContext(options);
        await watchPolicy(made, seen);
        return made;
      };
      await use(seen);
      browser.newContext = newContext;
      expect(seen, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});
