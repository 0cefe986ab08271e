// Shared by the panel's browser walks: headless Chromium with a fresh profile, and signing in.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

// A variable the calling test must set.
function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// Prints what a walk saw as one JSON line, or its error on stderr with exit status 1.
function run(walk) {
  walk().then((seen) => process.stdout.write(JSON.stringify(seen) + "\n"), (e) => {
    process.stderr.write(String(e && e.stack || e) + "\n");
    process.exit(1);
  });
}

// Runs fn(ctx) in a fresh persistent context (Playwright passes the profile as
// --user-data-dir) and always closes it and removes the profile.
async function withChromium(options, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "cx-panel-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1200, height: 900 },
    timeout: 60000,
    ...options,
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// Signs in on the page's form; resolves once the tenant overview is shown.
async function signIn(page, base, user, password) {
  await page.goto(base + "/");
  await page.waitForSelector("[data-testid=login-form]");
  await page.fill("#user", user);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=state-reason]");
}

// axe-core's serious and critical violations on the page as it is (loaded by a devtools
// evaluation, to which the page's CSP does not apply).
let axeSource = null;
async function axeViolations(page) {
  axeSource = axeSource || fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((x) => x.impact === "serious" || x.impact === "critical")
      .map((x) => ({ id: x.id, impact: x.impact, help: x.help,
                     nodes: x.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
}

module.exports = { env, run, withChromium, signIn, axeViolations };
