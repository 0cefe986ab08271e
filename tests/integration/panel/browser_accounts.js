// Headless Chromium (Dutch locale) through the panel's account pages (run by
// test_panel_users.py): phase "invite": the operator invites a shop owner on the users page;
// phase "accept": the owner opens the mailed link, chooses a password (a mismatch refused
// first), signs in, changes the password, signs out and asks for a reset link. Screenshots of
// every step; prints one JSON line with what it saw.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env("PANEL_URL");
const SHOTS = env("PANEL_SHOTS");
const PHASE = env("PHASE");

async function signIn(page, user, password) {
  await page.goto(BASE + "/#/login");
  await page.waitForSelector("[data-testid=login-form]");
  await page.fill("#user", user);
  await page.fill("#password", password);
  await page.click("[data-testid=login-form] button[type=submit]");
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "cx-panel-accounts-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true, locale: "nl-NL",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--lang=nl-NL"],
    viewport: { width: 1100, height: 850 },
    timeout: 60000,
  });
  const seen = {};
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(20000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
    const flash = async (text) => {
      await page.waitForFunction((t) => document.getElementById("flash").textContent.includes(t), text);
      return page.textContent("#flash");
    };

    if (PHASE === "invite") {
      await signIn(page, env("PANEL_USER"), env("PANEL_PASSWORD"));
      await page.waitForSelector("[data-testid=tenants]");
      seen.users_link = await page.textContent("#users");
      await page.click("#users");
      await page.waitForSelector("[data-testid=invite-form]");
      await page.fill("#inv-name", env("INVITE_NAME"));
      await page.fill("#inv-email", env("INVITE_EMAIL"));
      await page.selectOption("#inv-role", "owner");
      await page.selectOption("#inv-tenant", env("INVITE_TENANT"));
      await shot("accounts-01-invite");
      await page.click("[data-testid=invite-form] button[type=submit]");
      seen.flash = await flash("Uitnodiging verstuurd naar");
      await page.waitForSelector(`[data-testid=users] tr[data-user="${env("INVITE_NAME")}"]`);
      seen.row = await page.textContent(`[data-testid=users] tr[data-user="${env("INVITE_NAME")}"]`);
      await shot("accounts-02-invited");
    } else {
      const pw = env("NEW_PASSWORD");
      await page.goto(env("PANEL_LINK"));
      await page.waitForSelector("[data-testid=set-form]");
      seen.set_title = await page.textContent("[data-testid=set-form] h1");
      await page.fill("#new-pw", pw);
      await page.fill("#repeat-pw", pw + "x");
      await page.click("[data-testid=set-form] button[type=submit]");
      await page.waitForFunction(() => document.querySelector("[data-testid=set-error]").textContent);
      seen.mismatch = await page.textContent("[data-testid=set-error]");
      await shot("accounts-03-choose-password");
      await page.fill("#repeat-pw", pw);
      await page.click("[data-testid=set-form] button[type=submit]");
      seen.set_flash = await flash("ingesteld");
      seen.hash_after = await page.evaluate(() => location.hash);
      await page.fill("#user", env("INVITE_NAME"));
      await page.fill("#password", pw);
      await page.click("[data-testid=login-form] button[type=submit]");
      await page.waitForSelector("[data-testid=state-reason]");
      seen.landed = await page.evaluate(() => location.hash);
      seen.users_link_hidden = await page.isHidden("#users");
      await page.click("#account");
      await page.waitForSelector("[data-testid=account-form]");
      await page.fill("#current-pw", pw);
      await page.fill("#new-pw", env("CHANGED_PASSWORD"));
      await page.fill("#repeat-pw", env("CHANGED_PASSWORD"));
      await page.click("[data-testid=account-form] button[type=submit]");
      seen.changed_flash = await flash("gewijzigd");
      await shot("accounts-04-password-changed");
      await page.click("#logout");
      await page.waitForSelector("[data-testid=login-form]");
      seen.forgot_link = await page.textContent("[data-testid=forgot-link]");
      await page.click("[data-testid=forgot-link]");
      await page.waitForSelector("[data-testid=forgot-form]");
      await page.fill("#forgot-who", env("INVITE_EMAIL"));
      await page.click("[data-testid=forgot-form] button[type=submit]");
      await page.waitForFunction(() => document.querySelector("[data-testid=forgot-result]").textContent);
      seen.forgot = await page.textContent("[data-testid=forgot-result]");
      await shot("accounts-05-forgot");
    }
    seen.errors = errors;
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(JSON.stringify(seen));
}

main().catch((e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1); });
