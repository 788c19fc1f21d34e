// The users page (admin role): every user and key, creation (the secret shown once), the admin
// role, disabling, secret rotation and removal — all through the admin API.

import { admin, credentials, saveCredentials } from "../api.js";
import { formatTime, h, notice, replace } from "../dom.js";

function secretBox(title, user) {
  return h(
    "div",
    { class: "secret", id: "new-secret", role: "status" },
    h("strong", {}, title),
    h("p", {}, "Copy the secret key now: it is not shown again."),
    h("dl", {}, h("dt", {}, "Access key"), h("dd", { id: "new-access-key" }, user.accessKey),
      h("dt", {}, "Secret key"), h("dd", { id: "new-secret-key" }, user.secretKey)),
  );
}

export async function usersPage(main, session, shown = null) {
  if (!session.admin) {
    replace(main, h("h2", {}, "Users"), notice("error", "Managing users needs a key with the admin role."));
    return;
  }
  const status = h("div", { id: "users-status" }, shown);
  const { users } = await admin("GET", "users");
  const act = (label, action, className) => {
    const button = h("button", { class: className }, label);
    button.addEventListener("click", async () => {
      try {
        const answer = await action();
        await usersPage(main, session, answer);
      } catch (error) {
        replace(status, notice("error", `${error.code}: ${error.message}`));
      }
    });
    return button;
  };
  const rows = users.map((user) => {
    const key = encodeURIComponent(user.accessKey);
    const actions = user.bootstrap
      ? [h("span", { class: "hint" }, "set on the command line")]
      : [
          act(user.disabled ? "Enable" : "Disable", () => admin("PATCH", `users/${key}`, { disabled: !user.disabled })
            .then(() => notice("ok", `${user.displayName} ${user.disabled ? "enabled" : "disabled"}.`))),
          act(user.admin ? "Revoke admin" : "Make admin", () => admin("PATCH", `users/${key}`, { admin: !user.admin })
            .then(() => notice("ok", `${user.displayName} updated.`))),
          act("Rotate secret", async () => {
            const rotated = await admin("POST", `users/${key}/rotate`);
            // Your own secret: the console signs with the new one from now on.
            const current = credentials();
            if (current && current.accessKey === rotated.accessKey) {
              saveCredentials({ ...current, secretKey: rotated.secretKey });
            }
            return secretBox(`New secret for ${user.displayName}`, rotated);
          }),
          act("Remove", async () => {
            if (!confirm(`Remove ${user.displayName}? Their buckets and objects stay.`)) return null;
            await admin("DELETE", `users/${key}`);
            return notice("ok", `${user.displayName} removed.`);
          }, "danger"),
        ];
    return h(
      "tr",
      { dataset: { user: user.displayName } },
      h("td", {}, h("code", {}, user.accessKey)),
      h("td", {}, user.displayName),
      h("td", {}, user.email || "—"),
      h("td", {}, user.admin ? "admin" : ""),
      h("td", {}, user.disabled ? "disabled" : "active"),
      h("td", {}, formatTime(user.createdMs)),
      h("td", { class: "actions" }, actions),
    );
  });
  const name = h("input", { id: "new-user-name", placeholder: "name", required: true });
  const email = h("input", { id: "new-user-email", placeholder: "email (optional)", type: "email" });
  const isAdmin = h("input", { id: "new-user-admin", type: "checkbox" });
  const create = h("form", { class: "inline", id: "create-user" }, name, email,
    h("label", {}, isAdmin, " admin"), h("button", { type: "submit" }, "Create user"));
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const user = await admin("POST", "users", {
        displayName: name.value.trim(),
        email: email.value.trim() || null,
        admin: isAdmin.checked,
      });
      await usersPage(main, session, secretBox(`Created ${user.displayName}`, user));
    } catch (error) {
      replace(status, notice("error", `${error.code}: ${error.message}`));
    }
  });
  replace(
    main,
    h("h2", {}, "Users and keys"),
    create,
    status,
    h("table", { id: "users" },
      h("thead", {}, h("tr", {}, ["Access key", "Name", "Email", "Role", "Status", "Created", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)),
  );
}
