// AWS Signature Version 4 for the console's requests (S3 and the admin API), on the browser's
// own crypto (WebCrypto: SHA-256 and HMAC-SHA-256). WebCrypto exists only in secure contexts
// (HTTPS, or http://localhost / 127.0.0.1), which is also where typing a secret is safe.
// Spec: AWS General Reference, "Signature Version 4 signing process"; S3 API Reference,
// "Authenticating Requests (AWS Signature Version 4)".

const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of a string or bytes, as lower-case hex. */
export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

async function hmac(key, text) {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const imported = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(text)));
}

/** RFC 3986 encoding as SigV4 wants it: unreserved characters stay, every other byte is %XX
 * (upper case); `/` stays when `keepSlash` (paths). */
export function uriEncode(text, keepSlash) {
  let out = "";
  for (const byte of encoder.encode(text)) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(char) || (keepSlash && char === "/")) {
      out += char;
    } else {
      out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

function canonicalQuery(query) {
  return Object.entries(query)
    .map(([name, value]) => [uriEncode(name, false), uriEncode(String(value), false)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

function timestamps(now) {
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { amzDate, date: amzDate.slice(0, 8) };
}

async function signature(credentials, date, stringToSign) {
  let key = await hmac("AWS4" + credentials.secretKey, date);
  key = await hmac(key, credentials.region);
  key = await hmac(key, "s3");
  key = await hmac(key, "aws4_request");
  return hex(await hmac(key, stringToSign));
}

/**
 * Signs a request to this origin. `path` is the decoded path ("/bucket/a key"), `query` an
 * object of decoded names and values, `headers` extra headers to sign (lower-case names),
 * `payloadHash` the body's SHA-256 hex or "UNSIGNED-PAYLOAD". Returns the URL to send (path and
 * query encoded as signed) and the headers to send with it.
 */
export async function signRequest(credentials, { method, path, query = {}, headers = {}, payloadHash }) {
  const { amzDate, date } = timestamps(new Date());
  const sent = { ...headers, "x-amz-date": amzDate, "x-amz-content-sha256": payloadHash };
  const signed = { ...sent, host: location.host };
  const names = Object.keys(signed).map((name) => name.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(signed).map(([name, value]) => [name.toLowerCase(), value]));
  const canonicalHeaders = names.map((name) => `${name}:${String(lower[name]).trim()}\n`).join("");
  const signedHeaders = names.join(";");
  const encodedPath = uriEncode(path, true);
  const encodedQuery = canonicalQuery(query);
  const canonicalRequest = [method, encodedPath, encodedQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${date}/${credentials.region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonicalRequest)].join("\n");
  const sig = await signature(credentials, date, stringToSign);
  sent.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${sig}`;
  return { url: encodedPath + (encodedQuery ? "?" + encodedQuery : ""), headers: sent };
}

/** A presigned GET URL for `path` valid `expiresSeconds` (at most 7 days, S3's limit). */
export async function presignGet(credentials, path, expiresSeconds) {
  const { amzDate, date } = timestamps(new Date());
  const scope = `${date}/${credentials.region}/s3/aws4_request`;
  const query = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${credentials.accessKey}/${scope}`,
    "X-Amz-Date": amzDate,
    "X-Amz-Expires": String(expiresSeconds),
    "X-Amz-SignedHeaders": "host",
  };
  const encodedPath = uriEncode(path, true);
  const encodedQuery = canonicalQuery(query);
  const canonicalRequest = ["GET", encodedPath, encodedQuery, `host:${location.host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonicalRequest)].join("\n");
  const sig = await signature(credentials, date, stringToSign);
  return `${location.origin}${encodedPath}?${encodedQuery}&X-Amz-Signature=${sig}`;
}
