#!/usr/bin/env node
// npm `xmlrpc` as a client: node client.js HOST PORT SCENARIO
const xmlrpc = require("xmlrpc");
const [host, port, scenario] = process.argv.slice(2);
const c = xmlrpc.createClient({ host, port: Number(port), path: "/RPC2" });
const calls = {
  plain: ["add", [2, 3]],
  string: ["echo", ["a<b & c> \u00e9"]],
  bigint: ["demo.echo", [{ big: 1099511627776, small: 7, neg: -5 }]],
  fault: ["demo.fault", [4, "boom"]],
  // the library has no multicall helper: call system.multicall by hand
  multicall: ["system.multicall", [[{ methodName: "add", params: [1, 2] },
                                    { methodName: "demo.fault", params: [7, "x"] }]]],
  nil: ["demo.echo", [null]],
  types: ["demo.echo", [[true, false, 1.5, new Date(Date.UTC(2026, 11, 1, 8, 30, 0)),
                         Buffer.from("hello world ".repeat(8)), ""]]],
};
if (!calls[scenario]) { console.error("unknown scenario " + scenario); process.exit(2); }
c.methodCall(calls[scenario][0], calls[scenario][1], (err, value) => {
  if (err) console.log("error: " + (err.faultCode !== undefined ? `fault ${err.faultCode} ${err.faultString}` : err.message));
  else console.log("result: " + JSON.stringify(value));
});
