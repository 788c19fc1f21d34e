// A real browser against ringstore's CORS (run by tests/cors_browser.rs): headless Debian
// Chromium, driven by playwright-core, loads a page from another origin and uploads to and reads
// from presigned URLs with fetch(), then tries the same from an origin the bucket's rules do not
// allow. Prints one JSON line of what the page saw; the Rust test asserts on it.
//
// Env: RINGSTORE_PUT_URL, RINGSTORE_GET_URL (presigned), RINGSTORE_BODY (text to upload),
// CHROMIUM (executable, default /usr/bin/chromium).
import http from "node:http";
import { chromium } from "playwright-core";

const { RINGSTORE_PUT_URL: putUrl, RINGSTORE_GET_URL: getUrl, RINGSTORE_BODY: body } = process.env;

// One page server; reached as http://localhost:PORT (allowed by the rules) and as
// http://127.0.0.1:PORT (not allowed): two origins, neither the endpoint's.
const pages = http.createServer((request, response) => {
  response.writeHead(200, { "Content-Type": "text/html" });
  response.end("<!doctype html><title>cors page</title><p>page</p>");
});
await new Promise((resolve) => pages.listen(0, "127.0.0.1", resolve));
const port = pages.address().port;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Root in a container: no sandbox; the closed network: no background fetches, no QUIC.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: 60_000,
});

// Runs in the page: a PUT (preflighted: PUT is not a simple method), then a GET, each reporting
// what a script may read, or the error fetch() raised.
async function tryUpload({ putUrl, getUrl, body }) {
  const outcome = {};
  try {
    // A Content-Type outside the CORS-safelisted ones is named in the preflight's
    // Access-Control-Request-Headers, so the rule's AllowedHeader is exercised too.
    const put = await fetch(putUrl, {
      method: "PUT",
      body,
      headers: { "Content-Type": "application/octet-stream" },
    });
    outcome.put = { status: put.status, etag: put.headers.get("ETag") };
  } catch (error) {
    outcome.put = { error: String(error) };
  }
  try {
    const got = await fetch(getUrl);
    outcome.get = { status: got.status, etag: got.headers.get("ETag"), text: await got.text() };
  } catch (error) {
    outcome.get = { error: String(error) };
  }
  return outcome;
}

const result = {};
try {
  for (const [name, host] of [["allowed", "localhost"], ["disallowed", "127.0.0.1"]]) {
    const page = await browser.newPage();
    await page.goto(`http://${host}:${port}/`);
    result[name] = await page.evaluate(tryUpload, {
      putUrl,
      getUrl,
      body: name === "allowed" ? body : "written from a disallowed origin",
    });
    await page.close();
  }
} finally {
  await browser.close();
  pages.close();
}
console.log(JSON.stringify(result));
