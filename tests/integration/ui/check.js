// Loads pier's dashboard in Debian's headless Chromium with playwright-core and prints a JSON
// report: console errors, which panels are shown with what text, the number of instance squares,
// and whether the live charts updated. With --instances N, /v1/status is answered by a synthetic
// system of N instances (the dashboard must stay usable at 1,000).
//   node check.js URL SCREENSHOT [--instances N]
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const [url, screenshot, flag, count] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  if (flag === "--instances") {
    const n = Number(count);
    await page.route("**/ui/apis", (route) => route.fulfill({ contentType: "application/json", body: '["/v1/status"]' }));
    await page.route("**/v1/status", (route) => {
      const versions = [{ version: "v1", weight: 90, instances: [] }, { version: "v2", weight: 10, instances: [] }];
      for (let i = 0; i < n; i++) {
        versions[i % 10 === 0 ? 1 : 0].instances.push({
          id: `api-${i}`, address: `127.0.0.1:${20000 + i}`,
          health: i % 97 === 0 ? "critical" : "passing", running: true, restarts: 0 });
      }
      route.fulfill({ contentType: "application/json", body: JSON.stringify({
        system: "synthetic", driver: "process", deploy: "idle",
        services: [{ name: "api", stable: "v1", standby: "", versions }] }) });
    });
  }
  await page.goto(url);
  // Two refreshes of the page's data (it polls each second).
  await page.waitForFunction(() => document.body.dataset.updated, null, { timeout: 20000 });
  const first = await page.evaluate(() => document.body.dataset.updated);
  await page.waitForFunction((f) => document.body.dataset.updated !== f, first, { timeout: 20000 });
  const report = await page.evaluate(() => {
    const panels = {};
    for (const s of document.querySelectorAll("main section")) {
      panels[s.id] = { shown: !s.hidden, text: s.innerText.slice(0, 2000) };
    }
    return {
      panels,
      score: document.getElementById("total").textContent,
      dots: document.querySelectorAll(".dot").length,
      legend: document.getElementById("lg-thr").innerText + " | " + document.getElementById("lg-lat").innerText,
    };
  });
  const t0 = Date.now();
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  report.scroll_ms = Date.now() - t0;
  report.errors = errors;
  await page.screenshot({ path: screenshot, fullPage: true });
  await browser.close();
  console.log(JSON.stringify(report));
}

main().catch((e) => { console.error(e); process.exit(1); });
