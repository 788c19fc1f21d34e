// The web console end to end in a real browser (run by tests/console.rs): headless Debian
// Chromium, driven by playwright-core, signs in (a wrong secret first), creates a bucket, uploads
// a 20 MiB file by drag and drop (multipart, progress seen), browses folders and pages, shares a
// link and fetches it from outside the browser, edits a policy (a server validation error, then a
// valid one), deletes an object, creates a user, opens the dashboard, then signs in as that
// non-admin user. Throws (after a screenshot) at the first thing that is not as it should be;
// prints one JSON line of what it saw for the Rust test to check against the server.
//
// Env: RINGSTORE_ENDPOINT, RINGSTORE_ACCESS_KEY, RINGSTORE_SECRET_KEY, SCREENSHOTS (directory),
// CHROMIUM (executable, default /usr/bin/chromium).
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const endpoint = process.env.RINGSTORE_ENDPOINT;
const accessKey = process.env.RINGSTORE_ACCESS_KEY;
const secretKey = process.env.RINGSTORE_SECRET_KEY;
const screenshots = process.env.SCREENSHOTS;
mkdirSync(screenshots, { recursive: true });

/** The upload's bytes, made the same way in the page and here: byte i is i * 7 mod 251. */
const UPLOAD_BYTES = 20 * 1024 * 1024;
function expectedSha256() {
  const bytes = Buffer.alloc(UPLOAD_BYTES);
  for (let index = 0; index < UPLOAD_BYTES; index += 1) bytes[index] = (index * 7) % 251;
  return createHash("sha256").update(bytes).digest("hex");
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Root in a container: no sandbox; the closed network: no background fetches.
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
const page = await context.newPage();
page.setDefaultTimeout(30_000);
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("console", (message) => {
  // A CSP violation or a script error is a defect; a failed request the test provokes (a wrong
  // secret, a refused policy) logs a resource error, which is expected.
  if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
    problems.push(`console: ${message.text()}`);
  }
});
page.on("dialog", (dialog) => dialog.accept());

const seen = {};
const console_ = `${endpoint}/_ringstore/console/`;

async function signIn(key, secret) {
  await page.goto(console_);
  await page.fill("#access-key", key);
  await page.fill("#secret-key", secret);
  await page.click("#sign-in");
}

try {
  // The prefix without its slash redirects to the console.
  const redirect = await fetch(`${endpoint}/_ringstore/console`, { redirect: "manual" });
  seen.redirect = { status: redirect.status, location: redirect.headers.get("location") };
  const index = await fetch(console_);
  seen.csp = index.headers.get("content-security-policy");
  seen.frameOptions = index.headers.get("x-frame-options");

  // A wrong secret is refused with a message, and nothing is stored in the session.
  await signIn(accessKey, "not-the-secret");
  await page.waitForSelector("#login-status .notice.error");
  seen.wrongSecret = await page.textContent("#login-status");
  seen.sessionAfterWrongSecret = await page.evaluate(() => sessionStorage.length);

  await signIn(accessKey, secretKey);
  await page.waitForSelector("#create-bucket");
  seen.who = await page.textContent("#who");
  await page.screenshot({ path: join(screenshots, "console-buckets-empty.png") });

  // Create a bucket (the Rust test made console-e2e, with folders to browse).
  await page.fill("#new-bucket", "console-made");
  await page.click("#create-bucket button[type=submit]");
  await page.waitForSelector('tr[data-bucket="console-made"]');

  // Browse it; drop a 20 MiB file on the drop zone (multipart: 8 + 8 + 4 MiB) and record every
  // progress label the page shows.
  await page.click('tr[data-bucket="console-e2e"] a');
  await page.waitForSelector("#drop-zone");
  await page.evaluate((size) => {
    window.progressSeen = [];
    new MutationObserver(() => {
      for (const label of document.querySelectorAll("#uploads li span:last-child")) {
        window.progressSeen.push(label.textContent);
      }
    }).observe(document.getElementById("main"), { subtree: true, childList: true, characterData: true });
    const bytes = new Uint8Array(size);
    for (let index = 0; index < size; index += 1) bytes[index] = (index * 7) % 251;
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "big.bin", { type: "application/octet-stream" }));
    document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
  }, UPLOAD_BYTES);
  await page.waitForSelector('#uploads li.done[data-file="big.bin"]', { timeout: 120_000 });
  seen.progress = await page.evaluate(() => [...new Set(window.progressSeen)]);
  await page.waitForSelector('tr[data-key="big.bin"]');

  // The details panel: the multipart ETag, then a share link fetched from outside the browser.
  await page.click('button[data-key="big.bin"]');
  await page.waitForSelector("#details-key");
  seen.detailsText = await page.textContent("#details");
  await page.selectOption("#share-expiry", "3600");
  await page.click("#share-create");
  await page.waitForFunction(() => document.getElementById("share-link").value.startsWith("http"));
  const link = await page.inputValue("#share-link");
  seen.shareLink = link;
  await page.screenshot({ path: join(screenshots, "console.png") });
  const shared = await fetch(link);
  seen.shareStatus = shared.status;
  seen.shareSha256Matches = createHash("sha256").update(Buffer.from(await shared.arrayBuffer())).digest("hex") === expectedSha256();

  // Folders and pages (the Rust test put docs/a.txt, docs/b.txt and 250 keys under many/).
  await page.goto(`${console_}#/browse/console-e2e/docs/`);
  await page.waitForSelector('tr[data-key="docs/a.txt"]');
  seen.crumbs = await page.textContent("#crumbs");
  await page.goto(`${console_}#/browse/console-e2e/many/`);
  await page.waitForSelector('tr[data-key="many/k000"]');
  const rowsOf = () => page.$$eval("#objects tbody tr", (rows) => rows.map((row) => row.dataset.key));
  seen.pages = [await rowsOf()];
  await page.click("#page-next");
  await page.waitForSelector('tr[data-key="many/k100"]');
  seen.pages.push(await rowsOf());
  await page.click("#page-next");
  await page.waitForSelector('tr[data-key="many/k200"]');
  seen.pages.push(await rowsOf());
  seen.lastPageHasNext = (await page.$("#page-next")) !== null;
  await page.click("#page-previous");
  await page.waitForSelector('tr[data-key="many/k100"]');
  seen.backToPage = await page.textContent("#page-number");

  // Delete one object.
  await page.goto(`${console_}#/browse/console-e2e/docs/`);
  await page.waitForSelector('tr[data-key="docs/a.txt"]');
  await page.click('button[data-delete="docs/a.txt"]');
  await page.waitForSelector('tr[data-key="docs/a.txt"]', { state: "detached" });

  // Settings: a policy the server refuses shows its reason; a valid one saves.
  await page.goto(`${console_}#/settings/console-e2e`);
  await page.waitForSelector("#policy-text");
  await page.fill("#policy-text", '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}');
  await page.click("#policy-save");
  await page.waitForSelector("#policy-status .notice.error");
  seen.policyError = await page.textContent("#policy-status");
  await page.fill("#policy-text", JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::console-e2e/docs/*" }],
  }));
  await page.click("#policy-save");
  await page.waitForSelector("#policy-status .notice.ok");
  // Lifecycle and CORS as S3's XML (sent with the checksum S3 requires on them), and a canned ACL.
  await page.fill("#lifecycle-text", "<LifecycleConfiguration><Rule><ID>expire-tmp</ID><Filter><Prefix>tmp/</Prefix></Filter>" +
    "<Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule></LifecycleConfiguration>");
  await page.click("#lifecycle-save");
  await page.waitForSelector("#lifecycle-status .notice.ok");
  await page.fill("#cors-text", "<CORSConfiguration><CORSRule><AllowedOrigin>https://example.com</AllowedOrigin>" +
    "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>");
  await page.click("#cors-save");
  await page.waitForSelector("#cors-status .notice.ok");
  await page.fill("#cors-text", "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>");
  await page.click("#cors-save");
  await page.waitForSelector("#cors-status .notice.error");
  seen.corsError = await page.textContent("#cors-status");
  await page.selectOption("#acl", "public-read");
  await page.click("#acl-save");
  await page.waitForSelector("#settings-status .notice.ok");
  await page.click("#versioning-enable");
  await page.waitForFunction(() => document.getElementById("versioning-status")?.textContent === "Enabled");
  await page.fill("#quota-objects", "1000");
  await page.click("#quota-save");
  await page.waitForSelector("#settings-status .notice.ok");
  await page.screenshot({ path: join(screenshots, "console-settings.png"), fullPage: true });

  // A user, created here; the secret is shown once.
  await page.goto(`${console_}#/users`);
  await page.waitForSelector("#create-user");
  await page.fill("#new-user-name", "console-bob");
  await page.click("#create-user button[type=submit]");
  await page.waitForSelector("#new-secret");
  const bob = { accessKey: await page.textContent("#new-access-key"), secretKey: await page.textContent("#new-secret-key") };
  seen.bob = bob.accessKey;
  seen.bobSecret = bob.secretKey;
  await page.waitForSelector('tr[data-user="console-bob"]');

  // The dashboard: after two scrapes the charts have lines; then the README's pictures.
  await page.goto(`${console_}#/buckets`);
  await page.waitForSelector('tr[data-bucket="console-e2e"]');
  await page.screenshot({ path: join(screenshots, "console-buckets.png") });
  await page.goto(`${console_}#/dashboard`);
  await page.waitForSelector("#fact-disk");
  // Some traffic while the dashboard scrapes: anonymous GETs the policy allows, and 404s.
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    await fetch(`${endpoint}/console-e2e/docs/b.txt`);
    if (Math.random() < 0.1) await fetch(`${endpoint}/console-e2e/docs/missing.txt`);
  }
  await page.waitForFunction(() => document.querySelectorAll("#chart-requests circle").length >= 3, null, { timeout: 20_000 });
  seen.dashboardPoints = await page.$$eval("#chart-requests circle, #chart-latency circle", (dots) => dots.length);
  await page.screenshot({ path: join(screenshots, "dashboard.png") });

  // A page someone stored, opened in the signed-in tab, must not reach the console's secret: it
  // runs sandboxed, in an opaque origin.
  await page.goto(`${endpoint}/console-e2e/docs/stored.html`);
  await page.waitForFunction(() => document.title !== "untouched", null, { timeout: 10_000 });
  seen.storedPageTitle = await page.title();
  await page.goto(`${console_}#/buckets`);
  await page.waitForSelector("#create-bucket");

  // Sign out; the non-admin user sees buckets but no users page.
  await page.click("#sign-out");
  await page.waitForSelector("#login-form");
  seen.sessionAfterSignOut = await page.evaluate(() => sessionStorage.length);
  await signIn(bob.accessKey, bob.secretKey);
  await page.waitForSelector("#create-bucket");
  seen.bobNav = await page.textContent("#nav");
  await page.goto(`${console_}#/users`);
  await page.waitForSelector("main .notice.error");
  seen.bobUsersPage = await page.textContent("main");
  await page.goto(`${console_}#/buckets`);
  await page.waitForSelector("#create-bucket");
  await page.fill("#new-bucket", "bob-bucket");
  await page.click("#create-bucket button[type=submit]");
  await page.waitForSelector('tr[data-bucket="bob-bucket"]');
  seen.bobBuckets = await page.$$eval("#buckets tbody tr", (rows) => rows.map((row) => row.dataset.bucket));
  check(problems.length === 0, `the page reported problems: ${problems.join("; ")}`);
} catch (error) {
  await page.screenshot({ path: join(screenshots, "failure.png"), fullPage: true }).catch(() => {});
  console.error(`failed (screenshot in ${screenshots}/failure.png): ${error.stack}`);
  console.error(`seen so far: ${JSON.stringify(seen)}`);
  console.error(`page problems: ${problems.join("; ")}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
seen.problems = problems;
console.log(JSON.stringify(seen));
