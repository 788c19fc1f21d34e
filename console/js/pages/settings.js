// A bucket's settings: versioning, canned ACL, policy (edited as JSON, the server's validation
// errors shown as it words them), lifecycle and CORS (edited as S3's XML), and its quota.

import { admin, parseXml, s3, textOf } from "../api.js";
import { formatBytes, h, notice, replace } from "../dom.js";

const LIFECYCLE_EXAMPLE = `<LifecycleConfiguration>
  <Rule>
    <ID>expire-tmp</ID>
    <Filter><Prefix>tmp/</Prefix></Filter>
    <Status>Enabled</Status>
    <Expiration><Days>7</Days></Expiration>
  </Rule>
</LifecycleConfiguration>`;

const CORS_EXAMPLE = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>https://example.com</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
  </CORSRule>
</CORSConfiguration>`;

/** The body of a sub-resource, or null when S3 says there is none (404). */
async function loadText(bucket, name) {
  try {
    return await (await s3("GET", bucket, undefined, { query: { [name]: "" } })).text();
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

/** A section editing one document: load, save (PUT), delete. */
function documentEditor({ id, title, text, placeholder, save, remove }) {
  const area = h("textarea", { id: `${id}-text`, rows: 10, spellcheck: "false", placeholder });
  area.value = text ?? "";
  const status = h("div", { id: `${id}-status` });
  const run = async (action, done) => {
    try {
      await action();
      replace(status, notice("ok", done));
    } catch (error) {
      replace(status, notice("error", `${error.code}: ${error.message}`));
    }
  };
  return h(
    "section",
    { id },
    h("h3", {}, title),
    area,
    h("div", { class: "inline" },
      h("button", { id: `${id}-save`, onclick: () => run(() => save(area.value), "Saved.") }, "Save"),
      h("button", { id: `${id}-delete`, class: "danger", onclick: () => run(async () => { await remove(); area.value = ""; }, "Deleted.") }, "Delete")),
    status,
  );
}

export async function settingsPage(main, session, bucket) {
  const versioningText = await loadText(bucket, "versioning");
  const versioning = versioningText ? textOf(parseXml(versioningText), "Status") || "never enabled" : "never enabled";
  const policy = await loadText(bucket, "policy");
  const lifecycle = await loadText(bucket, "lifecycle");
  const cors = await loadText(bucket, "cors");
  const status = h("div", { id: "settings-status" });
  const act = async (action, done) => {
    try {
      await action();
      await settingsPage(main, session, bucket);
      replace(document.getElementById("settings-status"), notice("ok", done));
    } catch (error) {
      replace(status, notice("error", `${error.code}: ${error.message}`));
    }
  };
  const setVersioning = (state) =>
    act(() => s3("PUT", bucket, undefined, {
      query: { versioning: "" },
      body: `<VersioningConfiguration><Status>${state}</Status></VersioningConfiguration>`,
    }), `Versioning ${state.toLowerCase()}.`);
  const acl = h("select", { id: "acl" },
    ["private", "public-read", "public-read-write", "authenticated-read"].map((name) => h("option", { value: name }, name)));
  const sections = [
    h("section", { id: "versioning" },
      h("h3", {}, "Versioning"),
      h("p", {}, "Status: ", h("strong", { id: "versioning-status" }, versioning)),
      h("div", { class: "inline" },
        h("button", { id: "versioning-enable", onclick: () => setVersioning("Enabled") }, "Enable"),
        h("button", { id: "versioning-suspend", onclick: () => setVersioning("Suspended") }, "Suspend"))),
    h("section", { id: "bucket-acl" },
      h("h3", {}, "Access control list"),
      h("div", { class: "inline" }, acl,
        h("button", { id: "acl-save", onclick: () => act(() => s3("PUT", bucket, undefined, {
          query: { acl: "" }, headers: { "x-amz-acl": acl.value } }), `ACL set to ${acl.value}.`) }, "Apply canned ACL"))),
    documentEditor({
      id: "policy",
      title: "Bucket policy (JSON)",
      text: policy,
      placeholder: '{"Version": "2012-10-17", "Statement": [...]}',
      save: (text) => s3("PUT", bucket, undefined, { query: { policy: "" }, body: text }),
      remove: () => s3("DELETE", bucket, undefined, { query: { policy: "" } }),
    }),
    documentEditor({
      id: "lifecycle",
      title: "Lifecycle rules (XML)",
      text: lifecycle,
      placeholder: LIFECYCLE_EXAMPLE,
      save: (text) => s3("PUT", bucket, undefined, { query: { lifecycle: "" }, body: text, checksum: true }),
      remove: () => s3("DELETE", bucket, undefined, { query: { lifecycle: "" } }),
    }),
    documentEditor({
      id: "cors",
      title: "CORS rules (XML)",
      text: cors,
      placeholder: CORS_EXAMPLE,
      save: (text) => s3("PUT", bucket, undefined, { query: { cors: "" }, body: text, checksum: true }),
      remove: () => s3("DELETE", bucket, undefined, { query: { cors: "" } }),
    }),
  ];
  if (session.admin) {
    const shown = await admin("GET", `buckets/${encodeURIComponent(bucket)}`);
    const bytes = h("input", { id: "quota-bytes", type: "number", min: 0, placeholder: "bytes (empty: no limit)", value: shown.quota.bytes ?? "" });
    const objects = h("input", { id: "quota-objects", type: "number", min: 0, placeholder: "objects (empty: no limit)", value: shown.quota.objects ?? "" });
    const number = (input) => {
      if (input.value === "") return null;
      const value = Number(input.value);
      // JSON numbers in the browser are doubles: beyond 2^53 a limit would be saved as another.
      if (!Number.isSafeInteger(value) || value < 0) {
        throw Object.assign(new Error(`${input.value} is not a whole number up to ${Number.MAX_SAFE_INTEGER}`), { code: "InvalidQuota" });
      }
      return value;
    };
    sections.push(h("section", { id: "quota" },
      h("h3", {}, "Quota"),
      h("p", {}, `Holds ${shown.objects} objects and ${shown.versions} noncurrent versions, ${formatBytes(shown.bytes)}.`),
      h("div", { class: "inline" }, bytes, objects,
        h("button", { id: "quota-save", onclick: () => act(() => admin("PUT", `buckets/${encodeURIComponent(bucket)}/quota`,
          { bytes: number(bytes), objects: number(objects) }), "Quota saved.") }, "Save quota"),
        h("button", { id: "quota-delete", class: "danger", onclick: () => act(() => admin("DELETE", `buckets/${encodeURIComponent(bucket)}/quota`), "Quota removed.") }, "Remove quota"))));
  }
  replace(
    main,
    h("nav", { class: "crumbs" }, h("a", { href: "#/buckets" }, "Buckets"), " / ",
      h("a", { href: `#/browse/${encodeURIComponent(bucket)}/` }, bucket), " / settings"),
    h("h2", {}, `Settings of ${bucket}`),
    status,
    sections,
  );
}
