// Headless Chromium walk of the onboarding wizard (run by test_panel_wizard.py) in the
// language of PANEL_LOCALE: the owner opens "Aan de slag"/"Get started", is refused syncing
// before anything is connected, enters a wrong secret (refused), the right keys, connects
// Exact through exact-fake (its division=N chosen by rewriting the consent URL, as the real
// consent screen lets the user choose), chooses the administration, checks the mapping
// pickers, previews the shop's orders with them, saves and switches syncing on.
// Screenshots PANEL_SHOTS/wizard-<lang>-*.png. Prints one JSON line with what it saw.
"use strict";
const path = require("path");
const { env, run, withChromium, signIn, axeViolations } = require("./browserlib");

const BASE = env("PANEL_URL");
const TENANT = env("PANEL_TENANT");
const LOCALE = env("PANEL_LOCALE");
const LANG = LOCALE.slice(0, 2);
const SHOTS = env("PANEL_SHOTS");

async function main() {
  const seen = { lang: LANG };
  await withChromium({ locale: LOCALE, extraHTTPHeaders: { "Accept-Language": LOCALE } },
                     async (ctx) => {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(20000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    seen.axe = {};
    // every screen: axe-core's serious and critical violations, and a screenshot
    const shot = async (name) => {
      seen.axe[name] = await axeViolations(page);
      await page.screenshot({ path: path.join(SHOTS, `wizard-${LANG}-${name}.png`),
                              fullPage: true });
    };
    const text = (sel) => page.textContent(sel);
    await ctx.route((u) => u.pathname === "/api/oauth2/auth", (route) =>
      route.continue({ url: route.request().url() + "&division=" + env("PANEL_DIVISION") }));

    await signIn(page, BASE, env("PANEL_USER"), env("PANEL_PASSWORD"));
    seen.tab = (await text("[data-tab=wizard]")).trim();
    await page.click("[data-tab=wizard]");
    await page.waitForSelector("[data-testid=shop-form]");
    seen.first_step = (await text("[data-testid=step-title]")).trim();
    seen.focus_on_title = await page.evaluate(() =>
      document.activeElement && document.activeElement.dataset.testid === "step-title");

    // Going live before anything is connected is refused, the switch stays off.
    await page.click("[data-step=live]");
    await page.waitForSelector("[data-testid=live-switch]");
    seen.live_missing = (await text("[data-testid=live-missing]")).trim();
    await page.click("[data-testid=live-switch]");
    await page.waitForSelector("[data-testid=live-result].error");
    seen.live_refused = (await text("[data-testid=live-result]")).trim();
    seen.live_checked_after_refusal = await page.isChecked("[data-testid=live-switch]");
    await shot("0-live-refused");

    // Step 1: a wrong secret, then the right keys.
    await page.click("[data-step=shop]");
    await page.waitForSelector("[data-testid=shop-form]");
    // typed without a scheme: the page makes it https:// (which the fake does not speak)
    await page.fill("#w-shop-url", env("SHOP_URL").replace(/^http:\/\//, ""));
    await page.fill("#w-shop-pub", env("SHOP_PUBLIC_KEY"));
    await page.fill("#w-shop-secret", env("SHOP_SECRET"));
    await page.click("[data-testid=shop-connect]");
    await page.waitForSelector("[data-testid=shop-result].error");
    seen.shop_no_scheme = (await text("[data-testid=shop-result]")).trim();
    seen.shop_url_prefixed = await page.inputValue("#w-shop-url");
    await page.fill("#w-shop-url", env("SHOP_URL"));
    await page.fill("#w-shop-secret", "not-the-secret");
    await shot("1-shop");
    await page.click("[data-testid=shop-connect]");
    await page.waitForSelector("[data-testid=shop-result].error");
    seen.shop_refused = (await text("[data-testid=shop-result]")).trim();
    await shot("1-shop-refused");
    await page.fill("#w-shop-secret", env("SHOP_SECRET"));
    await page.click("[data-testid=shop-connect]");
    await page.waitForSelector("[data-testid=shop-result].ok-text");
    seen.shop_connected = (await text("[data-testid=shop-result]")).trim();
    seen.secret_field_after = await page.inputValue("#w-shop-secret");
    await shot("1-shop-connected");

    // Step 2: Exact's consent and back, then the administration.
    await page.click("[data-testid=next]");
    await page.waitForSelector("[data-testid=exact-connect]");
    await shot("2-exact");
    await page.click("[data-testid=exact-connect]");
    await page.waitForURL((u) => u.pathname === "/oauth/callback", { timeout: 20000 });
    await page.click("[data-testid=continue]");
    await page.waitForURL((u) => u.hash.includes("/wizard"), { timeout: 20000 });
    await page.waitForSelector("#w-division");
    seen.divisions = await page.$$eval("#w-division option", (o) => o.map((x) => x.textContent));
    await page.click("[data-testid=division-choose]");
    await page.waitForSelector("[data-testid=exact-result].ok-text");
    seen.division_chosen = (await text("[data-testid=exact-result]")).trim();
    await shot("2-exact-division");

    // Step 3: the pickers, the proposal pre-selected.
    await page.click("[data-testid=next]");
    await page.waitForSelector("[data-testid=mapping-form]", { timeout: 30000 });
    const pick = (sit) => page.$eval(`tr[data-situation="${sit}"] select`, (s) =>
      ({ value: s.value, label: s.options[s.selectedIndex].textContent,
         options: s.options.length,
         labelled: !!document.querySelector(`label[for="${s.id}"]`) }));
    seen.vat_standard = await pick("domestic/standard/");
    seen.vat_reduced = await pick("domestic/reduced/");
    seen.vat_zero = await pick("domestic/zero/");
    seen.vat_icp = await pick("icp//");
    seen.vat_export = await pick("export//");
    seen.vat_standard_label = (await text('tr[data-situation="domestic/standard/"] label')).trim();
    seen.journal = await page.inputValue("#w-journal");
    seen.selects_without_label = await page.$$eval("select", (all) =>
      all.filter((s) => !document.querySelector(`label[for="${s.id}"]`)).length);
    await shot("3-mapping");

    // Step 4: the latest orders previewed with the choices, before anything is saved.
    await page.click("[data-testid=mapping-preview]");
    await page.waitForSelector("[data-testid=wizard-preview] [data-testid=preview-summary]",
                               { timeout: 30000 });
    await page.waitForSelector("[data-testid=next]", { timeout: 30000 });
    seen.preview = await page.$$eval("[data-testid=wizard-preview] .wiz-order", (cards) =>
      cards.map((c) => c.textContent));
    await shot("4-preview");

    // Back to step 3 to save; then step 5, the switch.
    await page.click("[data-step=mapping]");
    await page.waitForSelector("[data-testid=mapping-save]", { timeout: 30000 });
    await page.click("[data-testid=mapping-save]");
    await page.waitForSelector("[data-testid=mapping-result].ok-text");
    seen.saved = (await text("[data-testid=mapping-result]")).trim();
    await page.click("[data-step=live]");
    await page.waitForSelector("[data-testid=live-switch]");
    seen.live_missing_after = await page.locator("[data-testid=live-missing]").count();
    await page.click("[data-testid=live-switch]");
    await page.waitForFunction(() => {
      const s = document.querySelector("[data-testid=live-switch]");
      return s && s.checked && !s.disabled &&
        !document.querySelector("[data-testid=live-result]").classList.contains("error");
    });
    seen.live = (await text("[data-testid=live-result]")).trim();
    seen.steps_done = await page.$$eval(".wiz-steps li[data-done] a", (a) => a.map((x) => x.dataset.step));
    await shot("5-live");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("5-live-phone");
    seen.page_errors = errors;
  });
  return seen;
}

run(main);
