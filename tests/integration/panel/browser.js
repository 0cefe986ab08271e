// Headless Chromium walk through the control panel (run by test_panel_browser.py).
// In Dutch (the browser's language): signs in, connects Exact Online, fixes a mapping,
// previews the order, reads the sync log and the dead letters; then switches to English with
// the page's switch (remembered over a reload), walks the same screens and retries the dead
// letter. On every screen in both languages: axe-core's check (its serious and critical
// violations are reported), a screenshot <lang>-<nn>-<screen>.png, and what a shop owner must
// not see (field names, PostgreSQL literals, topic names, ISO timestamps). Prints one JSON
// line with what it saw.
"use strict";
const path = require("path");
const { env, run, withChromium, axeViolations } = require("./browserlib");

const BASE = env("PANEL_URL");
const TENANT = env("PANEL_TENANT");
const ORDER = env("PANEL_ORDER_ID");
const SHOTS = env("PANEL_SHOTS");

// Texts on a screen that are the connector's internals, not a shop owner's words.
const INTERNAL = [/loaded_entities/, /lease_expires_at/, /lease_owner/, /state_reason/, /\{[a-z_]+(,[a-z_]+)*\}/,
                  /shop\.orders/, /\d{4}-\d\d-\d\dT\d\d:\d\d/, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/,
                  /SalesOrderLines/, /VATPercentage/, /0\.21\b/];

async function main() {
  const seen = { axe: {}, internal: {}, nl: {}, en: {} };
  await withChromium({ locale: "nl-NL", timezoneId: "Europe/Amsterdam",
                       extraHTTPHeaders: { "Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5" } },
                     async (ctx) => {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(20000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));

    // axe on the screen as it is, its text checked for internals, and a screenshot.
    const screen = async (lang, name) => {
      seen.axe[`${lang}-${name}`] = await axeViolations(page);
      // what is shown: visible text, not the support disclosure's closed content
      const text = await page.evaluate(() => document.body.innerText);
      const bad = INTERNAL.filter((re) => re.test(text)).map((re) => `${re}: ${text.match(re)[0]}`);
      if (bad.length) seen.internal[`${lang}-${name}`] = bad;
      await page.screenshot({ path: path.join(SHOTS, `${lang}-${name}.png`), fullPage: true });
    };
    // The switch redraws the screen: wait for the new one (its heading is a new element).
    const switchTo = async (lang) => {
      await page.evaluate(() => { const h = document.querySelector("#app h1"); if (h) h.dataset.old = "1"; });
      await page.click(`[data-testid=lang-${lang}]`);
      await page.waitForFunction((l) => {
        const h = document.querySelector("#app h1");
        return document.documentElement.lang === l && h && !h.dataset.old;
      }, lang);
    };
    const focused = () => page.evaluate(() => document.activeElement && document.activeElement.tagName);
    const flash = async (re) => {
      await page.waitForFunction((s) => new RegExp(s).test(document.getElementById("flash").textContent), re);
      return page.textContent("#flash");
    };

    // Sign in: first a wrong password (refused on the page), then the right one.
    await page.goto(BASE + "/");
    await page.waitForSelector("[data-testid=login-form]");
    seen.nl.lang = await page.evaluate(() => document.documentElement.lang);
    seen.nl.login_title = await page.textContent("h1");
    await page.fill("#user", env("PANEL_USER"));
    await page.fill("#password", "not-the-password");
    await page.click("button[type=submit]");
    await page.waitForFunction(() => document.querySelector("[data-testid=login-error]").textContent);
    seen.nl.wrong_password = await page.textContent("[data-testid=login-error]");
    await screen("nl", "01-sign-in-refused");
    await page.waitForTimeout(600); // the account's delay after a wrong password
    await page.fill("#password", env("PANEL_PASSWORD"));
    await page.click("button[type=submit]");
    // A shop owner lands on their own tenant; the list shows only that one.
    await page.waitForSelector("[data-testid=state-reason]");
    await page.goto(BASE + "/#/");
    await page.waitForSelector(`[data-testid=tenants] tr[data-tenant="${TENANT}"]`);
    seen.tenant_rows = await page.locator("[data-testid=tenants] tbody tr").count();
    seen.nl.tenant_state = await page.textContent(
      `[data-testid=tenants] tr[data-tenant="${TENANT}"] [data-testid=state]`);
    seen.nl.tenants_focus = await focused();
    await screen("nl", "02-tenants");

    await page.click(`[data-testid=tenants] a[href="#/t/${TENANT}"]`);
    await page.waitForSelector("[data-testid=state-reason]");
    seen.nl.overview_focus = await focused();
    seen.nl.overview_reason = await page.textContent("[data-testid=state-reason]");
    seen.nl.overview_text = await page.evaluate(() => document.getElementById("app").innerText);
    await screen("nl", "03-overview");

    // Exact connection: the consent goes to exact-fake and comes back to the callback.
    await page.click("[data-tab=exact]");
    await page.waitForSelector("[data-testid=connect]");
    await page.click("[data-testid=connect]");
    await page.waitForURL((u) => u.pathname === "/oauth/callback", { timeout: 20000 });
    seen.nl.callback = await page.textContent("h1");
    await screen("nl", "04-exact-callback");
    await page.click("[data-testid=continue]");
    await page.waitForURL((u) => u.hash.endsWith("/exact"), { timeout: 20000 });
    await page.waitForSelector("[data-testid=connect]");
    seen.nl.token_state = await page.textContent(".card .badge");
    await screen("nl", "05-exact-connected");

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
      document.querySelector("[data-testid=mapping-result]").className === "ok");
    seen.nl.saved = await page.textContent("[data-testid=mapping-result]");
    seen.nl.saved_flash = await page.textContent("#flash");
    await screen("nl", "06-mappings-saved");

    // A bad mapping is refused with the validator's message, naming the field's label.
    await page.fill("#m-home", "XX");
    await page.click("[data-testid=save-mappings]");
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=mapping-result]").className === "error");
    seen.nl.refused = await page.textContent("[data-testid=mapping-result]");
    await screen("nl", "07-mappings-refused");

    // Preview: the order from the sync log now books with the new code.
    const preview = async (lang) => {
      await page.goto(`${BASE}/#/t/${TENANT}/preview?order_id=${ORDER}`);
      await page.waitForSelector("[data-testid=preview-summary]");
      seen[lang].preview = await page.textContent("[data-testid=preview-summary]");
      seen[lang].preview_line = await page.$$eval("[data-testid=preview-lines] tbody tr:first-child td",
                                                  (tds) => tds.map((c) => c.textContent));
      seen[lang].raw_body_hidden = !(await page.locator("[data-testid=support-details] pre").isVisible());
      seen[lang].support = await page.textContent("[data-testid=support-details] summary");
      await screen(lang, "08-preview");
    };
    await preview("nl");

    // Sync log, failed entries: the columns line up with their headers, a failed order
    // links to its preview.
    const log = async (lang) => {
      await page.goto(`${BASE}/#/t/${TENANT}/log?status=failed`);
      await page.waitForSelector("[data-testid=log] tbody tr");
      seen[lang].log_rows = await page.locator("[data-testid=log] tbody tr").count();
      seen[lang].log_headers = await page.$$eval("[data-testid=log] thead th", (ths) => ths.map((h) => h.textContent));
      seen[lang].log_first = await page.$$eval("[data-testid=log] tbody tr:first-child td", (tds) => tds.map((c) => c.textContent));
      seen[lang].log_columns = await page.evaluate(() => {
        const ths = [...document.querySelectorAll("[data-testid=log] thead th")];
        const tds = [...document.querySelectorAll("[data-testid=log] tbody tr:first-child td")];
        return ths.length === tds.length && ths.every((h, i) =>
          Math.round(h.getBoundingClientRect().left) === Math.round(tds[i].getBoundingClientRect().left));
      });
      seen[lang].log_failed_preview = await page.locator(
        `[data-testid=log] tbody tr[data-status=failed] td:nth-child(6) a[href$="preview?order_id=${ORDER}"]`).count();
      await screen(lang, "09-sync-log");
    };
    await log("nl");

    const deadLetters = async (lang) => {
      await page.click("[data-tab=deadletters]");
      await page.waitForSelector("[data-testid=redrive]");
      seen[lang].dead_letter = await page.$$eval("[data-testid=dead-letters] tbody tr:first-child td",
                                                 (tds) => tds.map((c) => c.textContent));
      await screen(lang, "10-dead-letters");
    };
    await deadLetters("nl");

    await page.click("#account");
    await page.waitForSelector("[data-testid=account-form]");
    await screen("nl", "11-account");

    // The switch: English now, and still after a reload (localStorage).
    await switchTo("en");
    seen.en.switched = await page.textContent("h1");
    await page.reload();
    await page.waitForSelector("[data-testid=account-form]");
    seen.en.after_reload = await page.textContent("h1");
    seen.en.lang = await page.evaluate(() => document.documentElement.lang);
    seen.en.pressed = await page.getAttribute("[data-testid=lang-en]", "aria-pressed");
    await screen("en", "11-account");

    await page.goto(BASE + "/#/");
    await page.waitForSelector(`[data-testid=tenants] tr[data-tenant="${TENANT}"]`);
    seen.en.tenant_state = await page.textContent(
      `[data-testid=tenants] tr[data-tenant="${TENANT}"] [data-testid=state]`);
    await screen("en", "02-tenants");
    await page.click(`[data-testid=tenants] a[href="#/t/${TENANT}"]`);
    await page.waitForSelector("[data-testid=state-reason]");
    seen.en.overview_reason = await page.textContent("[data-testid=state-reason]");
    seen.en.overview_text = await page.evaluate(() => document.getElementById("app").innerText);
    await screen("en", "03-overview");
    await page.click("[data-tab=exact]");
    await page.waitForSelector("[data-testid=connect]");
    seen.en.token_state = await page.textContent(".card .badge");
    await screen("en", "05-exact-connected");
    await page.click("[data-tab=mappings]");
    await page.waitForSelector("[data-testid=vat-codes] tr.vat");
    seen.en.vat_header = await page.textContent("[data-testid=mappings] .card:nth-child(2) h2");
    await screen("en", "06-mappings");
    await preview("en");
    await log("en");
    await deadLetters("en");

    // Retry the order's dead letter (in English).
    await page.click("[data-testid=redrive]");
    seen.en.redrive = await flash("sent again");
    await screen("en", "12-dead-letter-retried");

    // Phone-sized, both languages; then the sign-in page in English after signing out.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${BASE}/#/`);
    await page.waitForSelector("[data-testid=tenants]");
    await screen("en", "13-tenants-phone");
    await switchTo("nl");
    await screen("nl", "13-tenants-phone");
    await page.setViewportSize({ width: 1200, height: 900 });
    await switchTo("en");
    await page.click("#logout");
    await page.waitForSelector("[data-testid=login-form]");
    seen.en.login_title = await page.textContent("h1");
    await screen("en", "01-sign-in");

    // The pages without a session, and the operator's users page, in both languages.
    for (const lang of ["en", "nl"]) {
      if (lang === "nl") await switchTo("nl");
      await page.goto(`${BASE}/#/forgot`);
      await page.waitForSelector("[data-testid=forgot-form]");
      await screen(lang, "14-forgot-password");
      await page.goto(`${BASE}/#/reset/${"0".repeat(64)}`);
      await page.waitForSelector("[data-testid=set-form]");
      seen[lang].set_title = await page.textContent("h1");
      await screen(lang, "15-new-password");
    }
    await page.goto(`${BASE}/#/login`);
    await page.waitForSelector("[data-testid=login-form]");
    await page.fill("#user", env("PANEL_OP_USER"));
    await page.fill("#password", env("PANEL_OP_PASSWORD"));
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-testid=tenants]");
    for (const lang of ["nl", "en"]) {
      if (lang === "en") await switchTo("en");
      else await page.goto(`${BASE}/#/users`);
      await page.waitForSelector("[data-testid=invite-form]");
      seen[lang].users_title = await page.textContent("h1");
      await screen(lang, "16-users");
    }
    seen.page_errors = errors;
  });

  // A browser whose first language is English gets English without touching the switch.
  await withChromium({ locale: "en-US", extraHTTPHeaders: { "Accept-Language": "en-US,en;q=0.9" } },
                     async (ctx) => {
    const page = ctx.pages()[0] || await ctx.newPage();
    await page.goto(BASE + "/");
    await page.waitForSelector("[data-testid=login-form]");
    seen.en.default_login_title = await page.textContent("h1");
  });
  return seen;
}

run(main);
