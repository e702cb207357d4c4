// The client's session (web/src/api.js) against a scripted server: one refresh however many requests
// fail together, the rotated refresh token kept, a refused refresh signing out and never retried.
import assert from "node:assert/strict";
import { test } from "node:test";

let instance = 0;

// A fresh copy of the module (its refresh-in-flight state is module-level), a storage, and a server
// that answers from `routes`: (method, path, headers, body) -> [status, body].
async function session(tokens, routes) {
  const stored = new Map(Object.entries(tokens));
  globalThis.localStorage = {
    getItem: (key) => (stored.has(key) ? stored.get(key) : null),
    setItem: (key, value) => stored.set(key, String(value)),
    removeItem: (key) => stored.delete(key),
  };
  const calls = [];
  globalThis.fetch = async (url, { method = "GET", headers = {}, body } = {}) => {
    const parsed = body === undefined ? undefined : JSON.parse(body);
    calls.push({ method, url, authorization: headers.authorization, body: parsed });
    await new Promise((resolve) => setTimeout(resolve, 5)); // requests overlap, as in a browser
    const [status, answer] = routes(method, url, headers, parsed);
    return new Response(status === 204 ? null : JSON.stringify(answer), { status });
  };
  instance += 1;
  const api = await import(`../../../web/src/api.js?instance=${instance}`);
  return { api, stored, calls };
}

const REFRESH = "tickerwatch.refresh";
const ACCESS = "tickerwatch.access";

test("requests that fail together share one refresh, and the rotated refresh token is kept", async () => {
  const { api, stored, calls } = await session({ [ACCESS]: "old", [REFRESH]: "r1" }, (method, url, headers, body) => {
    if (url === "/api/v1/token/refresh/") {
      return body.refresh === "r1" ? [200, { access: "new", refresh: "r2" }] : [401, { detail: "Token is invalid or expired." }];
    }
    return headers.authorization === "Bearer new" ? [200, { path: url }] : [401, { detail: "Token is invalid or expired." }];
  });
  const answers = await Promise.all(["/a/", "/b/", "/c/"].map((path) => api.api(path, { auth: true })));
  assert.deepEqual(answers, [{ path: "/a/" }, { path: "/b/" }, { path: "/c/" }]);
  assert.equal(calls.filter((c) => c.url === "/api/v1/token/refresh/").length, 1);
  assert.equal(stored.get(ACCESS), "new");
  assert.equal(stored.get(REFRESH), "r2");
});

test("a refused refresh signs out at once and is never retried", async () => {
  const { api, stored, calls } = await session({ [ACCESS]: "old", [REFRESH]: "r1" }, () => [401, { detail: "Token is invalid or expired." }]);
  const reasons = [];
  api.onSignedOut((reason) => reasons.push(reason));
  await assert.rejects(api.api("/a/", { auth: true }), api.SignedOut);
  await assert.rejects(api.api("/b/", { auth: true }), api.SignedOut);
  assert.equal(stored.has(REFRESH), false);
  assert.equal(stored.has(ACCESS), false);
  assert.deepEqual(reasons, ["Your session has ended. Please log in again."]);
  assert.equal(calls.filter((c) => c.url === "/api/v1/token/refresh/").length, 1);
});
