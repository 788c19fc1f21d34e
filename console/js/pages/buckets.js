// The buckets page: every bucket with its objects, bytes and a usage bar (against its quota, or
// against the largest bucket), creation and deletion.

import { admin, elements, parseXml, s3, textOf } from "../api.js";
import { bar, formatBytes, formatTime, h, notice, replace } from "../dom.js";

async function listBuckets(session) {
  if (session.admin) {
    return (await admin("GET", "buckets")).buckets;
  }
  const doc = parseXml(await (await s3("GET", null, undefined)).text());
  return elements(doc, "Bucket").map((node) => ({
    name: textOf(node, "Name"),
    createdMs: Date.parse(textOf(node, "CreationDate")),
  }));
}

export async function bucketsPage(main, session) {
  const status = h("div", { id: "buckets-status" });
  const buckets = await listBuckets(session);
  const largest = Math.max(1, ...buckets.map((bucket) => bucket.bytes || 0));
  const rows = buckets.map((bucket) => {
    const limit = bucket.quota?.bytes ?? null;
    const fraction = limit !== null ? (limit === 0 ? 1 : bucket.bytes / limit) : (bucket.bytes || 0) / largest;
    const usage = session.admin
      ? [
          h("td", { class: "number" }, String(bucket.objects + bucket.versions)),
          h("td", { class: "number" }, formatBytes(bucket.bytes)),
          h(
            "td",
            {},
            bar(fraction, limit !== null ? `of a ${formatBytes(limit)} quota` : "relative to the largest bucket"),
            limit !== null ? h("span", { class: "quota" }, ` quota ${formatBytes(limit)}`) : null,
          ),
        ]
      : [];
    const remove = h("button", { class: "danger", dataset: { bucket: bucket.name } }, "Delete");
    remove.addEventListener("click", async () => {
      if (!confirm(`Delete bucket ${bucket.name}? It must be empty.`)) return;
      try {
        await s3("DELETE", bucket.name, undefined);
        await bucketsPage(main, session);
      } catch (error) {
        replace(status, notice("error", `${error.code}: ${error.message}`));
      }
    });
    return h(
      "tr",
      { dataset: { bucket: bucket.name } },
      h("td", {}, h("a", { href: `#/browse/${encodeURIComponent(bucket.name)}/` }, bucket.name)),
      ...usage,
      h("td", {}, formatTime(bucket.createdMs)),
      h("td", { class: "actions" }, h("a", { href: `#/settings/${encodeURIComponent(bucket.name)}` }, "Settings"), remove),
    );
  });
  const name = h("input", { id: "new-bucket", placeholder: "new-bucket-name", required: true, pattern: "[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]" });
  const lock = h("input", { id: "new-bucket-lock", type: "checkbox" });
  const create = h(
    "form",
    { class: "inline", id: "create-bucket" },
    name,
    h("label", {}, lock, " Object Lock"),
    h("button", { type: "submit" }, "Create bucket"),
  );
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const headers = lock.checked ? { "x-amz-bucket-object-lock-enabled": "true" } : {};
      await s3("PUT", name.value.trim(), undefined, { headers });
      await bucketsPage(main, session);
    } catch (error) {
      replace(status, notice("error", `${error.code}: ${error.message}`));
    }
  });
  const header = session.admin
    ? ["Bucket", "Objects", "Size", "Usage", "Created", ""]
    : ["Bucket", "Created", ""];
  replace(
    main,
    h("h2", {}, "Buckets"),
    create,
    status,
    buckets.length === 0
      ? h("p", { class: "empty" }, "No buckets yet.")
      : h(
          "table",
          { id: "buckets" },
          h("thead", {}, h("tr", {}, header.map((title) => h("th", {}, title)))),
          h("tbody", {}, rows),
        ),
  );
}
