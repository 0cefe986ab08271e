// Headless Chromium, Dutch locale, on the control panel's sync log (run by
// test_panel_vies_browser.py): signs in as the shop owner, opens the transform entries and
// reads, for each order in PANEL_ORDERS, the message, the review warnings and the VIES
// consultation as the page shows them. Prints one JSON line with what it saw.
"use strict";
const path = require("path");
const { env, run, withChromium, signIn } = require("./browserlib");

const BASE = env("PANEL_URL");
const TENANT = env("PANEL_TENANT");
const ORDERS = env("PANEL_ORDERS").split(",");
const SHOTS = env("PANEL_SHOTS");

async function main() {
  const seen = { orders: {} };
  await withChromium({ locale: "nl-NL", extraHTTPHeaders: { "Accept-Language": "nl-NL,nl" } },
                     async (ctx) => {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(20000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    seen.language = await page.evaluate(() => navigator.language);
    await signIn(page, BASE, env("PANEL_USER"), env("PANEL_PASSWORD"));
    await page.goto(`${BASE}/#/t/${TENANT}/log?stage=transform`);
    for (const id of ORDERS) {
      // the row whose Source cell links to the order's preview
      const row = page.locator("[data-testid=log] tbody tr", {
        has: page.locator(`a[href$="order_id=${id}"]`) });
      await row.first().waitFor();
      const cell = row.first().locator("td").nth(5);
      const text = async (sel) => (await cell.locator(sel).count()) ?
        (await cell.locator(sel).first().textContent()) : null;
      seen.orders[id] = {
        status: (await row.first().locator("td").nth(4).textContent()).trim(),
        message: await cell.evaluate((td) => td.firstChild.textContent),
        review: await text("[data-testid=review-warnings]"),
        vies: await text("[data-testid=vies-consultation]"),
        review_visible: (await cell.locator("[data-testid=review-warnings]").count()) > 0 &&
          await cell.locator("[data-testid=review-warnings]").first().isVisible(),
      };
    }
    // the Melding (message) header stands over the message cells
    seen.message_column = await page.evaluate(() => {
      const th = [...document.querySelectorAll("[data-testid=log] thead th")]
        .find((h) => h.textContent === "Melding");
      const cell = document.querySelector("[data-testid=log] tbody tr td:nth-child(6)");
      return Math.round(th.getBoundingClientRect().left) ===
        Math.round(cell.getBoundingClientRect().left);
    });
    await page.screenshot({ path: path.join(SHOTS, "vies-sync-log.png"), fullPage: true });
    seen.page_errors = errors;
  });
  return seen;
}

run(main);
