// The console's shell: sign-in, the navigation, and the hash routes that pick a page.

import { ApiError, admin, credentials, forgetCredentials, s3, saveCredentials } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { bucketsPage } from "./pages/buckets.js";
import { browserPage } from "./pages/browser.js";
import { dashboardPage, stopDashboard } from "./pages/dashboard.js";
import { settingsPage } from "./pages/settings.js";
import { usersPage } from "./pages/users.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");

function loginPage(message) {
  const accessKey = h("input", { id: "access-key", name: "access-key", autocomplete: "username", required: true });
  const secretKey = h("input", {
    id: "secret-key",
    name: "secret-key",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const region = h("input", { id: "region", name: "region", value: "us-east-1", required: true });
  const status = h("div", { id: "login-status" }, message ? notice("error", message) : null);
  const form = h(
    "form",
    { class: "login", id: "login-form" },
    h("h1", {}, "ringstore"),
    h("label", { for: "access-key" }, "Access key"),
    accessKey,
    h("label", { for: "secret-key" }, "Secret key"),
    secretKey,
    h("label", { for: "region" }, "Region"),
    region,
    h("button", { type: "submit", id: "sign-in" }, "Sign in"),
    status,
    h("p", { class: "hint" }, "The secret stays in this tab (sessionStorage) and signs each request here."),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const session = { accessKey: accessKey.value.trim(), secretKey: secretKey.value, region: region.value.trim() };
    saveCredentials(session);
    try {
      await s3("GET", null, undefined);
    } catch (error) {
      forgetCredentials();
      const wrong = ["SignatureDoesNotMatch", "InvalidAccessKeyId"].includes(error.code);
      replace(status, notice("error", wrong ? "Wrong access key or secret key." : `Sign-in failed: ${error.message}`));
      return;
    }
    try {
      await admin("GET", "info");
      session.admin = true;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 403) throw error;
      session.admin = false;
    }
    saveCredentials(session);
    location.hash = "#/buckets";
    route();
  });
  nav.replaceChildren();
  replace(main, form);
}

function navigation(session) {
  const link = (href, label) =>
    h("a", { href, class: location.hash.startsWith(href) ? "active" : null }, label);
  replace(
    nav,
    h("span", { class: "brand" }, "ringstore"),
    link("#/buckets", "Buckets"),
    session.admin ? link("#/users", "Users") : null,
    link("#/dashboard", "Dashboard"),
    h("span", { class: "who", id: "who" }, session.accessKey, session.admin ? " (admin)" : ""),
    h(
      "button",
      {
        id: "sign-out",
        onclick: () => {
          forgetCredentials();
          location.hash = "#/login";
          route();
        },
      },
      "Sign out",
    ),
  );
}

/** Shows the page the hash names. */
export async function route() {
  stopDashboard();
  if (!window.isSecureContext || !window.crypto?.subtle) {
    nav.replaceChildren();
    replace(
      main,
      notice(
        "error",
        "The console signs requests with the browser's WebCrypto, which only HTTPS (or localhost) provides. " +
          "Open it over https:// (--listen-tls) or from this machine.",
      ),
    );
    return;
  }
  const session = credentials();
  if (!session) {
    loginPage();
    return;
  }
  navigation(session);
  const [page, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const argument = rest.map(decodeURIComponent);
  try {
    switch (page) {
      case "browse":
        await browserPage(main, session, argument[0], argument.slice(1).join("/"));
        break;
      case "settings":
        await settingsPage(main, session, argument[0]);
        break;
      case "users":
        await usersPage(main, session);
        break;
      case "dashboard":
        await dashboardPage(main, session);
        break;
      default:
        await bucketsPage(main, session);
    }
  } catch (error) {
    if (error instanceof ApiError && ["SignatureDoesNotMatch", "InvalidAccessKeyId"].includes(error.code)) {
      forgetCredentials();
      loginPage("Your key no longer signs in (removed, disabled or rotated).");
      return;
    }
    replace(main, notice("error", error.message || String(error)));
  }
}

window.addEventListener("hashchange", route);
route();
