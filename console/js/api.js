// The console's two clients, both signing every request in the browser (sigv4.js): S3 (path
// style, to this origin) and the admin API (/_ringstore/admin/v1/, JSON). The credentials live
// in sessionStorage only: gone when the tab closes, never sent anywhere but in signatures.

import { presignGet, sha256Hex, signRequest } from "./sigv4.js";

const STORAGE_KEY = "ringstore-console-credentials";
const ADMIN_PREFIX = "/_ringstore/admin/v1/";
/** Multipart above this size, in parts of PART_SIZE (S3: 5 MiB minimum but for the last). */
export const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
export const PART_SIZE = 8 * 1024 * 1024;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

export function credentials() {
  const saved = sessionStorage.getItem(STORAGE_KEY);
  return saved ? JSON.parse(saved) : null;
}

export function saveCredentials(value) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
}

export function forgetCredentials() {
  sessionStorage.removeItem(STORAGE_KEY);
}

function required() {
  const saved = credentials();
  if (!saved) throw new ApiError(401, "NotSignedIn", "Sign in first.");
  return saved;
}

/** Parses XML text. */
export function parseXml(text) {
  return new DOMParser().parseFromString(text, "application/xml");
}

/** Text of the first `tag` under `node`, or "". */
export function textOf(node, tag) {
  const found = node.getElementsByTagName(tag)[0];
  return found ? found.textContent : "";
}

/** Every element named `tag` under `node`. */
export function elements(node, tag) {
  return Array.from(node.getElementsByTagName(tag));
}

async function s3Error(response) {
  const text = await response.text();
  if (!text) return new ApiError(response.status, `HTTP${response.status}`, `HTTP ${response.status}`);
  const doc = parseXml(text);
  return new ApiError(response.status, textOf(doc, "Code"), textOf(doc, "Message"));
}

function objectPath(bucket, key) {
  if (!bucket) return "/";
  return key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
}

async function sha256Base64(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * One S3 request. `body` is a string (signed by its hash); `checksum` adds
 * x-amz-checksum-sha256, which S3 requires on configuration bodies instead of Content-MD5.
 * Returns the Response; throws ApiError with S3's code and message.
 */
export async function s3(method, bucket, key, { query = {}, body, headers = {}, checksum = false } = {}) {
  const signedHeaders = { ...headers };
  if (checksum && body !== undefined) signedHeaders["x-amz-checksum-sha256"] = await sha256Base64(body);
  const request = await signRequest(required(), {
    method,
    path: objectPath(bucket, key),
    query,
    headers: signedHeaders,
    payloadHash: await sha256Hex(body ?? ""),
  });
  const response = await fetch(request.url, { method, headers: request.headers, body, cache: "no-store" });
  if (!response.ok) throw await s3Error(response);
  return response;
}

/** One admin API request; its JSON answer (null for 204). */
export async function admin(method, path, body) {
  const text = body === undefined ? "" : JSON.stringify(body);
  const headers = text ? { "content-type": "application/json" } : {};
  const request = await signRequest(required(), {
    method,
    path: ADMIN_PREFIX + path,
    headers,
    payloadHash: await sha256Hex(text),
  });
  const response = await fetch(request.url, {
    method,
    headers: request.headers,
    body: text || undefined,
    cache: "no-store",
  });
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = answer.error || {};
    throw new ApiError(response.status, error.code || `HTTP${response.status}`, error.message);
  }
  return answer;
}

/** A presigned GET link to an object, valid `seconds`. */
export function shareLink(bucket, key, seconds) {
  return presignGet(required(), objectPath(bucket, key), seconds);
}

/** PUT of `blob` with upload progress (XMLHttpRequest: fetch cannot report upload progress).
 * The payload is UNSIGNED-PAYLOAD: hashing a large file first would read it twice. */
function putWithProgress(path, query, blob, contentType, onProgress) {
  return signRequest(required(), { method: "PUT", path, query, payloadHash: "UNSIGNED-PAYLOAD" }).then(
    (request) =>
      new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("PUT", request.url);
        for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
        if (contentType) xhr.setRequestHeader("Content-Type", contentType);
        xhr.upload.onprogress = (event) => onProgress(event.loaded);
        xhr.onload = () => {
          if (xhr.status >= 200 && xhr.status < 300) {
            resolve(xhr.getResponseHeader("ETag"));
          } else {
            const doc = parseXml(xhr.responseText || "<Error/>");
            reject(new ApiError(xhr.status, textOf(doc, "Code") || `HTTP${xhr.status}`, textOf(doc, "Message")));
          }
        };
        xhr.onerror = () => reject(new ApiError(0, "NetworkError", "the upload was cut off"));
        xhr.send(blob);
      }),
  );
}

/**
 * Uploads `file` to bucket/key: one PUT when small, else a multipart upload of PART_SIZE parts
 * (aborted if a part fails). `onProgress(bytesSent, total)`.
 */
export async function upload(bucket, key, file, onProgress) {
  const path = objectPath(bucket, key);
  const type = file.type || "application/octet-stream";
  if (file.size < MULTIPART_THRESHOLD) {
    await putWithProgress(path, {}, file, type, (sent) => onProgress(sent, file.size));
    onProgress(file.size, file.size);
    return;
  }
  const created = await s3("POST", bucket, key, { query: { uploads: "" }, headers: { "content-type": type } });
  const uploadId = textOf(parseXml(await created.text()), "UploadId");
  const parts = [];
  let done = 0;
  try {
    for (let number = 1, offset = 0; offset < file.size; number += 1, offset += PART_SIZE) {
      const slice = file.slice(offset, Math.min(offset + PART_SIZE, file.size));
      const etag = await putWithProgress(path, { partNumber: String(number), uploadId }, slice, null, (sent) =>
        onProgress(done + sent, file.size),
      );
      done += slice.size;
      parts.push(`<Part><PartNumber>${number}</PartNumber><ETag>${etag}</ETag></Part>`);
    }
    const body = `<CompleteMultipartUpload>${parts.join("")}</CompleteMultipartUpload>`;
    await s3("POST", bucket, key, { query: { uploadId }, body });
  } catch (error) {
    await s3("DELETE", bucket, key, { query: { uploadId } }).catch(() => {});
    throw error;
  }
  onProgress(file.size, file.size);
}
