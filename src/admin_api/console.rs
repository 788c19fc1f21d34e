//! The web console: its files (`console/` in the repository, plain HTML, CSS and JavaScript
//! modules, no build step) embedded in the binary and served under `/_ringstore/console/` to
//! anyone — they hold no secret — with a strict Content-Security-Policy. The console signs its
//! own requests to S3 and the admin API in the browser (SECURITY.md, "Console").

use crate::http::{Method, RequestHead, Response, ResponseBody, ResponseHead};

/// Where the console is served.
pub const CONSOLE_PREFIX: &str = "/_ringstore/console/";

/// Scripts, styles and connections from this origin only; no inline code, no plugins, never in a
/// frame (clickjacking), forms post nowhere, no `<base>` tricks.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

/// One embedded file: its path under the prefix, its bytes and type.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:expr, $file:expr, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../../console/", $file)),
        }
    };
}

/// Every file of `console/` (checked by a test: none missing, none extra).
const ASSETS: &[Asset] = &[
    asset!("", "index.html", "text/html; charset=utf-8"),
    asset!("js/api.js", "js/api.js", "text/javascript; charset=utf-8"),
    asset!("js/app.js", "js/app.js", "text/javascript; charset=utf-8"),
    asset!(
        "js/chart.js",
        "js/chart.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("js/dom.js", "js/dom.js", "text/javascript; charset=utf-8"),
    asset!(
        "js/metrics.js",
        "js/metrics.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/pages/browser.js",
        "js/pages/browser.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/pages/buckets.js",
        "js/pages/buckets.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/pages/dashboard.js",
        "js/pages/dashboard.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/pages/settings.js",
        "js/pages/settings.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/pages/users.js",
        "js/pages/users.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "js/sigv4.js",
        "js/sigv4.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("style.css", "style.css", "text/css; charset=utf-8"),
];

/// The paths served, for the test that compares them with the `console/` folder.
pub fn asset_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|asset| asset.path)
}

fn plain(status: u16, text: &'static str) -> Response {
    let mut head = ResponseHead::new(status);
    head.header("Content-Type", "text/plain; charset=utf-8");
    head.header("X-Content-Type-Options", "nosniff");
    Response {
        head,
        body: ResponseBody::Bytes(text.as_bytes().to_vec()),
    }
}

/// Answers a request for the console (`path` starts with `/_ringstore/console`).
pub fn serve(head: &RequestHead) -> Response {
    if head.path() == CONSOLE_PREFIX.trim_end_matches('/') {
        let mut response = plain(308, "the console is at /_ringstore/console/\n");
        response.head.header("Location", CONSOLE_PREFIX);
        return response;
    }
    if !matches!(head.method, Method::Get | Method::Head) {
        let mut response = plain(405, "the console's files are read with GET\n");
        response.head.header("Allow", "GET, HEAD");
        return response;
    }
    let Some(path) = head.path().strip_prefix(CONSOLE_PREFIX) else {
        return plain(404, "no such console file\n");
    };
    let Some(asset) = ASSETS.iter().find(|asset| asset.path == path) else {
        return plain(404, "no such console file\n");
    };
    let mut response_head = ResponseHead::new(200);
    response_head.header("Content-Type", asset.content_type);
    response_head.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    response_head.header("X-Frame-Options", "DENY");
    response_head.header("X-Content-Type-Options", "nosniff");
    response_head.header("Referrer-Policy", "no-referrer");
    // Always revalidated: a new ringstore version serves new files at the same paths.
    response_head.header("Cache-Control", "no-cache");
    let body = if head.method == Method::Head {
        ResponseBody::HeadOnly(asset.body.len() as u64)
    } else {
        ResponseBody::Bytes(asset.body.to_vec())
    };
    Response {
        head: response_head,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: every file of `console/` is embedded and nothing else is listed (a file added to the
    // folder but not to `ASSETS` would 404 in the browser).
    #[test]
    fn every_console_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut on_disk = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                pending.extend(
                    std::fs::read_dir(&path)
                        .unwrap()
                        .map(|entry| entry.unwrap().path()),
                );
            } else {
                let relative = path.strip_prefix(&root).unwrap().display().to_string();
                on_disk.push(if relative == "index.html" {
                    String::new()
                } else {
                    relative
                });
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = asset_paths().map(str::to_string).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
