// nats.js against a server: core messaging and JetStream basics; prints one JSON report.
import { connect, headers, StringCodec, AckPolicy } from "nats";

const sc = StringCodec();
const nc = await connect({ servers: process.argv[2] });
const report = { version: nc.info.version, headers: nc.info.headers };

const sub = nc.subscribe("js.smoke.*", { max: 2 });
const seen = (async () => {
  const out = [];
  for await (const m of sub) out.push([m.subject, sc.decode(m.data), m.headers?.get("K") ?? null]);
  return out;
})();
const h = headers();
h.set("K", "v");
nc.publish("js.smoke.a", sc.encode("one"), { headers: h });
nc.publish("js.smoke.b", sc.encode("two"));
report.subscribed = await seen;

nc.subscribe("js.echo", { callback: (_e, m) => m.respond(sc.encode("re:" + sc.decode(m.data))) });
report.reply = sc.decode((await nc.request("js.echo", sc.encode("hi"), { timeout: 2000 })).data);
try {
  await nc.request("js.nobody", sc.encode("x"), { timeout: 2000 });
  report.noResponders = "answered";
} catch (e) {
  report.noResponders = e.code;
}

const jsm = await nc.jetstreamManager();
await jsm.streams.add({ name: "JSSMOKE", subjects: ["jssmoke.>"] });
const js = nc.jetstream();
const acks = [];
for (let i = 0; i < 3; i++) acks.push((await js.publish("jssmoke.x", sc.encode(`m${i}`))).seq);
report.acks = acks;
await jsm.consumers.add("JSSMOKE", { durable_name: "C", ack_policy: AckPolicy.Explicit });
const consumer = await js.consumers.get("JSSMOKE", "C");
const got = [];
const iter = await consumer.fetch({ max_messages: 3, expires: 2000 });
for await (const m of iter) {
  got.push(sc.decode(m.data));
  m.ack();
}
report.fetched = got;
report.streamMsgs = (await jsm.streams.info("JSSMOKE")).state.messages;
await nc.drain();
console.log(JSON.stringify(report));
