// The object browser: a bucket's keys as folders (delimiter "/"), a page at a time (continuation
// tokens, so a million keys cost one page each), uploads by drag and drop or file picker
// (multipart with a progress bar for large files), download, delete, share links, and a panel of
// an object's headers, metadata, tags and versions.

import { elements, parseXml, s3, shareLink, textOf, upload } from "../api.js";
import { formatBytes, formatTime, h, notice, replace } from "../dom.js";

/** Keys per listing page (S3's largest is 1,000; a page people can scan is smaller). */
const PAGE_KEYS = 100;
/** Share link lifetimes offered (S3 allows presigned URLs up to 7 days). */
const SHARE_SECONDS = [
  [3600, "1 hour"],
  [86400, "1 day"],
  [604800, "7 days"],
];

/** The continuation tokens of the pages open so far in this folder, the current one last. */
const pages = { folder: null, tokens: [], uploads: null };

/** The folders of `prefix` ("a/b/" → ["a", "b"]; empty names kept: "/x/" and "a//" are
 * folders too). */
function folders(prefix) {
  return prefix.split("/").slice(0, -1);
}

function browseHash(bucket, prefix) {
  const parts = folders(prefix).map((part) => encodeURIComponent(part) + "/");
  return `#/browse/${encodeURIComponent(bucket)}/${parts.join("")}`;
}

function breadcrumbs(bucket, prefix) {
  const crumbs = [h("a", { href: "#/buckets" }, "Buckets"), " / ", h("a", { href: browseHash(bucket, "") }, bucket)];
  let path = "";
  for (const part of folders(prefix)) {
    path += part + "/";
    crumbs.push(" / ", h("a", { href: browseHash(bucket, path) }, part || "(empty name)"));
  }
  return h("nav", { class: "crumbs", id: "crumbs" }, crumbs);
}

/** Whether a browser can send a request for `key`: URL parsing removes "." and ".." path
 * segments (and their %2e spellings), so such keys are reachable only from S3 clients. */
function addressable(key) {
  return !key.split("/").some((segment) => segment === "." || segment === "..");
}

const UNADDRESSABLE = "This key has a \".\" or \"..\" path segment, which browsers remove from URLs: use an S3 client for it.";

async function listPage(bucket, prefix, token) {
  const query = { "list-type": "2", delimiter: "/", prefix, "max-keys": String(PAGE_KEYS) };
  if (token) query["continuation-token"] = token;
  const doc = parseXml(await (await s3("GET", bucket, undefined, { query })).text());
  return {
    folders: elements(doc, "CommonPrefixes").map((node) => textOf(node, "Prefix")),
    objects: elements(doc, "Contents").map((node) => ({
      key: textOf(node, "Key"),
      size: Number(textOf(node, "Size")),
      lastModified: textOf(node, "LastModified"),
    })),
    next: textOf(doc, "IsTruncated") === "true" ? textOf(doc, "NextContinuationToken") : null,
  };
}

async function detailsPanel(panel, bucket, key) {
  replace(panel, h("p", {}, "Loading…"));
  const head = await s3("HEAD", bucket, key);
  const headers = [];
  head.headers.forEach((value, name) => {
    if (name.startsWith("x-amz-meta-") || ["content-type", "etag", "content-length", "last-modified",
      "x-amz-version-id", "x-amz-storage-class", "cache-control", "content-disposition", "content-encoding",
      "x-amz-server-side-encryption", "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date"].includes(name)) {
      headers.push([name, value]);
    }
  });
  headers.sort();
  const tagsDoc = parseXml(await (await s3("GET", bucket, key, { query: { tagging: "" } })).text());
  const tags = elements(tagsDoc, "Tag").map((node) => [textOf(node, "Key"), textOf(node, "Value")]);
  const versionsDoc = parseXml(
    await (await s3("GET", bucket, undefined, { query: { versions: "", prefix: key, "max-keys": "50" } })).text(),
  );
  const versions = [...elements(versionsDoc, "Version"), ...elements(versionsDoc, "DeleteMarker")]
    .filter((node) => textOf(node, "Key") === key)
    .map((node) => ({
      id: textOf(node, "VersionId"),
      latest: textOf(node, "IsLatest") === "true",
      marker: node.tagName === "DeleteMarker",
      size: textOf(node, "Size"),
      lastModified: textOf(node, "LastModified"),
    }))
    .sort((a, b) => b.lastModified.localeCompare(a.lastModified));
  const expiry = h("select", { id: "share-expiry" }, SHARE_SECONDS.map(([seconds, label]) => h("option", { value: seconds }, label)));
  const link = h("input", { id: "share-link", readonly: true, placeholder: "no link yet" });
  const share = h("button", { id: "share-create", type: "button" }, "Create link");
  share.addEventListener("click", async () => {
    link.value = await shareLink(bucket, key, Number(expiry.value));
    link.select();
  });
  const table = (rows, empty) =>
    rows.length === 0
      ? h("p", { class: "empty" }, empty)
      : h("table", { class: "compact" }, h("tbody", {}, rows.map(([name, value]) => h("tr", {}, h("th", {}, name), h("td", {}, value)))));
  replace(
    panel,
    h("h3", { id: "details-key" }, key),
    h("h4", {}, "Headers and metadata"),
    table(headers, "none"),
    h("h4", {}, "Tags"),
    table(tags, "No tags."),
    h("h4", {}, "Versions"),
    versions.length === 0
      ? h("p", { class: "empty" }, "Not versioned.")
      : h(
          "table",
          { class: "compact", id: "versions" },
          h("tbody", {}, versions.map((version) =>
            h("tr", {}, h("td", {}, version.id), h("td", {}, version.marker ? "delete marker" : formatBytes(Number(version.size))),
              h("td", {}, formatTime(version.lastModified)), h("td", {}, version.latest ? "latest" : "")))),
        ),
    h("h4", {}, "Share"),
    h("div", { class: "inline" }, expiry, share),
    link,
  );
}

function uploader(bucket, prefix, status, refresh) {
  // One list per folder, kept across re-renders so finished uploads stay in view.
  pages.uploads ??= h("ul", { class: "uploads", id: "uploads" });
  const list = pages.uploads;
  const start = async (files) => {
    for (const file of files) {
      const progress = h("progress", { max: file.size || 1, value: 0 });
      const label = h("span", {}, "0 %");
      const item = h("li", { dataset: { file: file.name } }, h("span", { class: "name" }, file.name), progress, label);
      list.append(item);
      try {
        await upload(bucket, prefix + file.name, file, (sent, total) => {
          progress.value = sent;
          label.textContent = `${total ? Math.floor((sent / total) * 100) : 100} %`;
        });
        item.classList.add("done");
        label.textContent = "done";
      } catch (error) {
        item.classList.add("failed");
        label.textContent = `${error.code}: ${error.message}`;
      }
    }
    await refresh();
  };
  const picker = h("input", { type: "file", id: "file-input", multiple: true });
  picker.addEventListener("change", () => start(Array.from(picker.files)));
  const zone = h(
    "div",
    { class: "drop", id: "drop-zone" },
    "Drop files here to upload to ",
    h("code", {}, `${bucket}/${prefix}`),
    " — or ",
    h("label", { class: "button" }, picker, "choose files"),
  );
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    start(Array.from(event.dataTransfer.files));
  });
  return [zone, list];
}

/** The folder `prefix` of `bucket`; `paging` (from the pager) keeps the page history. */
export async function browserPage(main, session, bucket, prefix, paging = false) {
  const folder = `${bucket}\n${prefix}`;
  if (!paging || pages.folder !== folder) {
    pages.folder = folder;
    pages.tokens = [];
    pages.uploads = null;
  }
  const token = pages.tokens[pages.tokens.length - 1] || null;
  const status = h("div", { id: "browser-status" });
  const panel = h("aside", { id: "details", class: "details" }, h("p", { class: "empty" }, "Select an object to see its details."));
  const page = await listPage(bucket, prefix, token);
  const refresh = () => browserPage(main, session, bucket, prefix, true);
  const rows = [
    ...page.folders.map((folder) =>
      h("tr", { class: "folder" },
        h("td", {}, h("a", { href: browseHash(bucket, folder) }, folder.slice(prefix.length) || "(empty name)/")),
        h("td", {}, ""), h("td", {}, ""), h("td", {}, ""))),
    ...page.objects.map((object) => {
      const name = object.key.slice(prefix.length);
      const open = h("button", { class: "link", dataset: { key: object.key } }, name);
      open.addEventListener("click", () => {
        if (!addressable(object.key)) {
          replace(panel, notice("error", UNADDRESSABLE));
          return;
        }
        detailsPanel(panel, bucket, object.key).catch((error) => replace(panel, notice("error", error.message)));
      });
      const download = h("button", { dataset: { download: object.key } }, "Download");
      download.addEventListener("click", async () => {
        if (!addressable(object.key)) {
          replace(status, notice("error", UNADDRESSABLE));
          return;
        }
        const anchor = h("a", { href: await shareLink(bucket, object.key, 300), download: name });
        document.body.append(anchor);
        anchor.click();
        anchor.remove();
      });
      const remove = h("button", { class: "danger", dataset: { delete: object.key } }, "Delete");
      remove.addEventListener("click", async () => {
        if (!addressable(object.key)) {
          replace(status, notice("error", UNADDRESSABLE));
          return;
        }
        if (!confirm(`Delete ${object.key}?`)) return;
        try {
          await s3("DELETE", bucket, object.key);
          await refresh();
        } catch (error) {
          replace(status, notice("error", `${error.code}: ${error.message}`));
        }
      });
      return h("tr", { dataset: { key: object.key } },
        h("td", {}, open), h("td", { class: "number" }, formatBytes(object.size)),
        h("td", {}, formatTime(object.lastModified)), h("td", { class: "actions" }, download, remove));
    }),
  ];
  const pager = h("div", { class: "pager" }, h("span", { id: "page-number" }, `Page ${pages.tokens.length + 1}`));
  if (token) {
    const back = h("button", { id: "page-previous" }, "Previous page");
    back.addEventListener("click", () => {
      pages.tokens.pop();
      refresh();
    });
    pager.append(back);
  }
  if (page.next) {
    const forward = h("button", { id: "page-next" }, "Next page");
    forward.addEventListener("click", () => {
      pages.tokens.push(page.next);
      refresh();
    });
    pager.append(forward);
  }
  replace(
    main,
    breadcrumbs(bucket, prefix),
    h("div", { class: "toolbar" }, h("a", { href: `#/settings/${encodeURIComponent(bucket)}` }, "Bucket settings")),
    ...uploader(bucket, prefix, status, refresh),
    status,
    h(
      "div",
      { class: "split" },
      h(
        "div",
        {},
        rows.length === 0
          ? h("p", { class: "empty" }, "Nothing here yet.")
          : h("table", { id: "objects" },
              h("thead", {}, h("tr", {}, ["Name", "Size", "Last modified", ""].map((title) => h("th", {}, title)))),
              h("tbody", {}, rows)),
        pager,
      ),
      panel,
    ),
  );
}
