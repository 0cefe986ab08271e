// run.sh's check that the browser driver and Chromium work together on this machine, before
// the panel's browser tests rely on them: launch headless Chromium, render a page, read it back.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "cx-browser-check-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage"],
    timeout: 60000,
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    await page.setContent("<title>ok</title><p id=p>rendered</p>");
    const text = await page.textContent("#p");
    if (text !== "rendered") throw new Error(`the page read back ${JSON.stringify(text)}`);
    console.log(`chromium ${ctx.browser() ? ctx.browser().version() : ""} renders pages ` +
                `(node ${process.version})`);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`browser check failed: ${e.message}`); process.exit(1); });
