// Shared by the review page and the dashboard: the analyst's key, API calls, sign-in.
// Plain JavaScript, no build. Case text is only ever put in the page with textContent.
"use strict";

const ICCS = (() => {
  const KEY_STORAGE = "iccs-analyst-key";
  const byId = (id) => document.getElementById(id);

  class ApiError extends Error {
    constructor(status, error) {
      super((error && error.message) || `HTTP ${status}`);
      this.status = status;
      this.code = error && error.code;
      this.details = error && error.details;
    }
  }

  function authorization() {
    return { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) || ""}` };
  }

  async function api(method, path, body) {
    const headers = authorization();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = (response.headers.get("content-type") || "").includes("json")
      ? await response.json()
      : null;
    if (!response.ok) throw new ApiError(response.status, data && data.error);
    return data;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function percent(value, digits = 1) {
    return value === null || value === undefined ? "–" : `${(100 * value).toFixed(digits)}%`;
  }

  // Show the sign-in form until `start()` (the page's loader) succeeds with the stored key.
  function signIn(start) {
    const form = byId("signin-form");
    const error = byId("signin-error");
    const show = (signedIn) => {
      byId("signin").hidden = signedIn;
      byId("app").hidden = !signedIn;
      byId("who").hidden = !signedIn;
    };
    const attempt = async () => {
      try {
        const who = await start();
        byId("analyst-name").textContent = `${who.name} (${who.role})`;
        show(true);
        if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
      } catch (failure) {
        sessionStorage.removeItem(KEY_STORAGE);
        show(false);
        error.textContent =
          failure.status === 401 || failure.status === 403
            ? "This key is not a valid analyst key."
            : `Could not sign in: ${failure.message}`;
        byId("key-input").focus();
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, byId("key-input").value.trim());
      byId("key-input").value = "";
      error.textContent = "";
      attempt();
    });
    byId("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORAGE);
      window.location.reload();
    });
    if (sessionStorage.getItem(KEY_STORAGE)) {
      attempt();
    } else {
      show(false);
      byId("key-input").focus();
    }
  }

  return { api, authorization, byId, element, percent, signIn, ApiError };
})();
