// Headless Chromium walk through the control panel (run by test_panel_browser.py).
// Signs in, connects Exact Online, fixes a mapping, previews the order, retries its dead
// letter, and saves a screenshot of every page. Prints one JSON line with what it saw.
"use strict";
const path = require("path");
const { env, run, withChromium } = require("./browserlib");

const BASE = env("PANEL_URL");
const TENANT = env("PANEL_TENANT");
const ORDER = env("PANEL_ORDER_ID");
const SHOTS = env("PANEL_SHOTS");

async function main() {
  const seen = {};
  await withChromium({}, async (ctx) => {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(20000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });

    // Sign in: first a wrong password (refused on the page), then the right one.
    await page.goto(BASE + "/");
    await page.waitForSelector("[data-testid=login-form]");
    await page.fill("#user", env("PANEL_USER"));
    await page.fill("#password", "not-the-password");
    await page.click("button[type=submit]");
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=login-error]").textContent.includes("wrong"));
    seen.wrong_password = await page.textContent("[data-testid=login-error]");
    await shot("01-sign-in-refused");
    await page.waitForTimeout(600); // the account's delay after a wrong password
    await page.fill("#password", env("PANEL_PASSWORD"));
    await page.click("button[type=submit]");
    // A shop owner lands on their own tenant; the list shows only that one.
    await page.waitForSelector("[data-testid=state-reason]");
    await page.goto(BASE + "/#/");
    await page.waitForSelector(`[data-testid=tenants] tr[data-tenant="${TENANT}"]`);
    seen.tenant_rows = await page.locator("[data-testid=tenants] tbody tr").count();
    seen.tenant_state_before = await page.textContent(
      `[data-testid=tenants] tr[data-tenant="${TENANT}"] [data-testid=state]`);
    await shot("02-tenants");

    await page.click(`[data-testid=tenants] a[href="#/t/${TENANT}"]`);
    await page.waitForSelector("[data-testid=state-reason]");
    await shot("03-tenant-overview");

    // Exact connection: the consent goes to exact-fake and comes back to the callback.
    await page.click("[data-tab=exact]");
    await page.click("[data-testid=connect]");
    await page.waitForURL((u) => u.pathname === "/oauth/callback", { timeout: 20000 });
    seen.callback = await page.textContent("h1");
    await shot("04-exact-callback");
    await page.waitForURL((u) => u.hash.endsWith("/exact"), { timeout: 20000 });
    await page.waitForSelector("[data-testid=connect]");
    seen.token_state = await page.textContent(".card .badge");
    await shot("05-exact-connected");

    // Mappings: add the domestic standard-rate code the order needs, and save.
    await page.click("[data-tab=mappings]");
    await page.waitForSelector("[data-testid=vat-codes]");
    await page.click("[data-testid=add-vat]");
    const row = page.locator("[data-testid=vat-codes] tr.vat").last();
    await row.locator("[data-f=code]").fill("2");
    await row.locator("[data-f=scenario]").selectOption("domestic");
    await row.locator("[data-f=class]").selectOption("standard");
    await row.locator("[data-f=percentage]").fill("21");
    await page.click("[data-testid=save-mappings]");
    await page.waitForFunction(() =>
      /Saved: version/.test(document.querySelector("[data-testid=mapping-result]").textContent));
    seen.saved = await page.textContent("[data-testid=mapping-result]");
    await shot("06-mappings-saved");

    // A bad mapping is refused with the validator's message.
    await page.fill("#m-home", "XX");
    await page.click("[data-testid=save-mappings]");
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=mapping-result]").className === "error");
    seen.refused = await page.textContent("[data-testid=mapping-result]");
    await shot("07-mappings-refused");

    // Preview: the order from the sync log now books with the new code.
    await page.goto(`${BASE}/#/t/${TENANT}/preview?order_id=${ORDER}`);
    await page.waitForSelector("[data-testid=preview-summary]");
    seen.preview = await page.textContent("[data-testid=preview-summary]");
    seen.preview_vat = await page.textContent("[data-testid=preview-lines] tbody tr td:nth-child(5)");
    await shot("08-preview");

    // Sync log with a filter.
    await page.goto(`${BASE}/#/t/${TENANT}/log?status=failed`);
    await page.waitForSelector("[data-testid=log] tbody tr");
    seen.log_rows = await page.locator("[data-testid=log] tbody tr").count();
    await shot("09-sync-log");

    // Dead letters: retry the order's.
    await page.click("[data-tab=deadletters]");
    await page.waitForSelector("[data-testid=redrive]");
    await shot("10-dead-letters");
    await page.click("[data-testid=redrive]");
    await page.waitForFunction(() => /sent again/.test(document.getElementById("flash").textContent));
    seen.redrive = await page.textContent("#flash");
    await shot("11-dead-letter-retried");

    // The same page on a phone-sized screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${BASE}/#/`);
    await page.waitForSelector("[data-testid=tenants]");
    await shot("12-tenants-phone");
    seen.page_errors = errors;
  });
  return seen;
}

run(main);
