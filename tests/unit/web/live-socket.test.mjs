// The live client's socket (web/src/live.js) against a scripted AppSync Events server: a refused
// subscription is asked again with a newly refreshed token, however many times it is refused, and
// the page reloads once it holds. Timers are mocked: the backoff passes in no time.
import assert from "node:assert/strict";
import { mock, test } from "node:test";

const jwt = (claims) => `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;

class FakeSocket {
  static OPEN = 1;
  static opened = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = FakeSocket.OPEN;
    this.sent = [];
    FakeSocket.opened.push(this);
    queueMicrotask(() => this.onopen?.());
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  reply(message) {
    this.onmessage({ data: JSON.stringify(message) });
  }
  subscriptions() {
    return this.sent.filter((m) => m.type === "subscribe");
  }
}

// Lets awaited promises (the token read, the refresh) run to their end.
const settle = async () => {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

test("a refused subscription is asked again with a fresh token until it holds, then the page reloads", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const now = Math.floor(Date.now() / 1000);
    const stored = new Map([
      ["tickerwatch.access", jwt({ sub: "7", iat: now, exp: now + 600, n: 0 })],
      ["tickerwatch.refresh", "r0"],
    ]);
    globalThis.localStorage = {
      getItem: (key) => (stored.has(key) ? stored.get(key) : null),
      setItem: (key, value) => stored.set(key, String(value)),
      removeItem: (key) => stored.delete(key),
    };
    globalThis.location = { href: "http://localhost:8000/" };
    globalThis.WebSocket = FakeSocket;
    let refreshes = 0;
    globalThis.fetch = async (url) => {
      if (url === "/config.json") {
        return new Response(JSON.stringify({ apiUrl: "", events: { realtimeUrl: "/event/realtime", httpUrl: "/event" } }));
      }
      assert.equal(url, "/api/v1/token/refresh/");
      refreshes += 1;
      return new Response(JSON.stringify({ access: jwt({ sub: "7", iat: now, exp: now + 600, n: refreshes }), refresh: `r${refreshes}` }));
    };
    const api = await import("../../../web/src/api.js");
    const live = await import("../../../web/src/live.js");
    await api.loadConfig();
    await live.connectLive();
    await settle();
    const socket = FakeSocket.opened.at(-1);
    assert.deepEqual(socket.sent, [{ type: "connection_init" }]);
    socket.reply({ type: "connection_ack", connectionTimeoutMs: 300_000 });

    let reloads = 0;
    const heard = [];
    live.listen("/users/7", (event) => heard.push(event), () => (reloads += 1));
    await settle();
    for (let refusal = 1; refusal <= 3; refusal += 1) {
      const asked = socket.subscriptions();
      assert.equal(asked.length, refusal);
      socket.reply({ type: "subscribe_error", id: asked.at(-1).id, errors: [{ errorType: "UnauthorizedException" }] });
      mock.timers.tick(45_000); // past any backoff
      await settle();
    }
    const asked = socket.subscriptions();
    assert.equal(asked.length, 4, "asked again after every refusal");
    assert.equal(refreshes, 3, "each time with a newly refreshed token");
    assert.equal(api.tokenClaims(asked.at(-1).authorization.Authorization).n, 3);
    assert.equal(reloads, 0);
    socket.reply({ type: "subscribe_success", id: asked.at(-1).id });
    assert.equal(reloads, 1, "the page reads its state again once it listens");
    socket.reply({ type: "data", id: asked.at(-1).id, event: JSON.stringify({ type: "alert.triggered" }) });
    assert.deepEqual(heard, [{ type: "alert.triggered" }]);
  } finally {
    mock.timers.reset();
  }
});
