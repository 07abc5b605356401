// The token form shown when GET /api/session answers 401.

import { api, ApiError } from "../api.ts";
import { h, mount } from "./dom.ts";

export function showLogin(root: HTMLElement, onSuccess: () => void): void {
  const input = h("input", {
    id: "login-token",
    type: "password",
    name: "token",
    autocomplete: "current-password",
    required: true,
    "data-testid": "login-token",
    placeholder: "Login token or API key",
  });
  const error = h("p", { class: "login-error", "data-testid": "login-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "login-submit" }, "Sign in");
  const form = h(
    "form",
    { class: "login-card", "data-testid": "login-form", "aria-labelledby": "login-title" },
    h("div", { class: "brand large" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "cellblock"),
    h("h1", { id: "login-title" }, "Sign in"),
    h("p", { class: "muted" }, "Paste the login token that ", h("code", null, "cellblock serve"), " printed when it started, or an API key."),
    // For password managers, which expect a user name next to a password field.
    h("input", { type: "text", name: "username", autocomplete: "username", value: "cellblock", hidden: true, "aria-hidden": "true", tabindex: -1 }),
    h("label", { for: "login-token" }, "Token"),
    input,
    error,
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    error.hidden = true;
    try {
      await api.login(token);
      onSuccess();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? "That token was not accepted." : (err as Error).message;
      error.hidden = false;
      submit.disabled = false;
      input.select();
    }
  });
  mount(root, h("div", { class: "login-screen" }, form));
  input.focus();
}
