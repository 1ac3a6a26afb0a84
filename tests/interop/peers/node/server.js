#!/usr/bin/env node
// npm `xmlrpc` as a server: node server.js HOST PORT
const xmlrpc = require("xmlrpc");
const [host, port] = process.argv.slice(2);
const s = xmlrpc.createServer({ host, port: Number(port) });
const h = {
  add: (p) => [null, p[0] + p[1]],
  echo: (p) => [null, p[0]],
  bigstruct: () => [null, { big: 1099511627776, small: 7, neg: -5 }],
  fail: () => [{ faultCode: 4, faultString: "boom" }],
  crash: () => { throw new Error("unexpected error"); },
  nil: () => [null, null],
  types: () => [null, [true, false, 1.5, new Date(Date.UTC(2026, 11, 1, 8, 30, 0)),
                       Buffer.from("hello world ".repeat(8)), ""]],
};
for (const [name, fn] of Object.entries(h)) {
  s.on(name, (err, params, callback) => {
    let r;
    try { r = fn(params); } catch (e) { callback(e); return; }
    callback(r[0], r[1]);
  });
}
// unknown methods (no handler): the library emits 'NotFound'
s.on("NotFound", (method) => { console.error("not found: " + method); });
