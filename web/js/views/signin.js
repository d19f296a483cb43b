/** First visit: sign in with email and password, or pair with a code from another device. */

import { ApiError, api } from "../api.js";
import { field, h } from "../dom.js";

/**
 * @param {{onSession: (session: object) => Promise<void>, code?: string}} options
 */
export function signinView({ onSession, code = "" }) {
  const deviceName = () => (/Mobi|Android/i.test(navigator.userAgent) ? "Phone" : "Browser");
  const status = h("p", { class: "form-error", role: "alert" });

  async function finish(token) {
    const stores = await api("/api/stores", { token: token.token });
    const store = stores.find((s) => s.role === "owner") ?? stores[0];
    if (!store) throw new Error("This account has no store yet.");
    await onSession({ ...token, store_id: store.id, store_name: store.name, role: store.role });
  }

  function submitting(form, work) {
    return async (event) => {
      event.preventDefault();
      status.textContent = "";
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        await work(new FormData(form));
      } catch (error) {
        status.textContent =
          error instanceof ApiError || error instanceof Error
            ? error.message
            : "Something went wrong. Try again.";
        if (error instanceof TypeError) status.textContent = "No connection to the server.";
      } finally {
        button.disabled = false;
      }
    };
  }

  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", {
    type: "password", name: "password", autocomplete: "current-password", required: true,
  });
  const signin = h("form", { class: "card", "aria-labelledby": "signin-title" },
    h("h2", { id: "signin-title" }, "Sign in"),
    field("Email", email),
    field("Password", password),
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  signin.addEventListener("submit", submitting(signin, async (data) => {
    const token = await api("/api/login", {
      method: "POST",
      body: { email: data.get("email"), password: data.get("password"), device_name: deviceName() },
    });
    await finish(token);
  }));

  const codeInput = h("input", {
    name: "code", value: code, autocomplete: "one-time-code", required: true,
    autocapitalize: "characters", spellcheck: "false", placeholder: "ABCD-EFGH",
  });
  const pair = h("form", { class: "card", "aria-labelledby": "pair-title" },
    h("h2", { id: "pair-title" }, "Pair this device"),
    h("p", {}, "On a device that is signed in, open Settings → Add a device, then type the code here."),
    field("Pairing code", codeInput),
    h("button", { type: "submit", class: code ? "primary" : "" }, "Pair"));
  pair.addEventListener("submit", submitting(pair, async (data) => {
    const token = await api("/api/pair", {
      method: "POST", body: { code: data.get("code"), device_name: deviceName() },
    });
    await finish(token);
  }));

  return h("section", { class: "signin" },
    h("h1", {}, "Welcome to Grapevine"),
    h("p", { class: "lead" },
      "Keep track of the people you meet, what they told you, and who they pointed you to."),
    status, code ? [pair, signin] : [signin, pair]);
}
