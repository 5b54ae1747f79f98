// Command natsgo drives a server through nats.go's own API and prints a transcript: one
// "check: value" line per step, holding only values that depend neither on timing nor on
// which server answered, so tests/core/test_nats_go.py can hold devserver's transcript and
// nats-server's against the same expected file. A failed step prints its error and the
// run goes on, so one difference does not hide the ones after it.
//
// Builds offline against Debian's nats.go 1.22.1:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o natsgo natsgo.go
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// wait bounds every step that waits for a message: long enough for a loaded CI machine,
// short enough that a missing message fails the run well inside pytest's timeout.
const wait = 5 * time.Second

func out(check string, format string, args ...interface{}) {
	fmt.Printf("%s: %s\n", check, fmt.Sprintf(format, args...))
}

// known are the typed errors a caller would test with errors.Is; a transcript names the
// one that matched, which is what code written against nats.go branches on.
var known = []struct {
	name string
	err  error
}{
	{"ErrNoResponders", nats.ErrNoResponders},
	{"ErrTimeout", nats.ErrTimeout},
	{"ErrStreamNotFound", nats.ErrStreamNotFound},
	{"ErrStreamNameAlreadyInUse", nats.ErrStreamNameAlreadyInUse},
	{"ErrConsumerNotFound", nats.ErrConsumerNotFound},
	{"ErrMsgNotFound", nats.ErrMsgNotFound},
	{"ErrBadRequest", nats.ErrBadRequest},
	{"ErrNoStreamResponse", nats.ErrNoStreamResponse},
	{"ErrKeyExists", nats.ErrKeyExists},
	{"ErrKeyNotFound", nats.ErrKeyNotFound},
	{"ErrKeyDeleted", nats.ErrKeyDeleted},
	{"ErrBucketNotFound", nats.ErrBucketNotFound},
	{"ErrNoKeysFound", nats.ErrNoKeysFound},
	{"ErrObjectNotFound", nats.ErrObjectNotFound},
}

// errText names an error: "ok", the typed error it is, and the server's API error if any
// (code, err_code and description must be nats-server's exactly).
func errText(err error) string {
	if err == nil {
		return "ok"
	}
	var parts []string
	for _, k := range known {
		if errors.Is(err, k.err) {
			parts = append(parts, k.name)
			break
		}
	}
	var apiErr *nats.APIError
	if errors.As(err, &apiErr) && apiErr.Code != 0 {
		parts = append(parts, fmt.Sprintf("api(%d %d %q)", apiErr.Code, apiErr.ErrorCode, apiErr.Description))
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("untyped(%q)", err.Error()))
	}
	return strings.Join(parts, " ")
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: natsgo nats://host:port")
		os.Exit(2)
	}
	nc, err := nats.Connect(os.Args[1], nats.Timeout(wait))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer nc.Close()
	core(nc)
	js, err := nc.JetStream(nats.MaxWait(wait))
	if err != nil {
		fmt.Fprintln(os.Stderr, "jetstream:", err)
		os.Exit(1)
	}
	streams(js)
	publish(js)
	pull(js)
	push(js)
	consumers(js)
	ordered(js)
	extras(js)
	messages(js)
	limits(js)
	redelivery(js)
	keyValue(js)
	objectStore(js)
	if err := nc.Drain(); err != nil {
		out("drain", "%s", errText(err))
	}
}

func core(nc *nats.Conn) {
	out("core.headers", "%v", nc.HeadersSupported())
	out("core.max_payload", "%d", nc.MaxPayload())

	sub, _ := nc.SubscribeSync("go.core.*")
	m := nats.NewMsg("go.core.a")
	m.Data = []byte("one")
	m.Header.Set("K", "v")
	m.Header.Add("Multi", "1")
	m.Header.Add("Multi", "2")
	out("core.publish_msg", "%s", errText(nc.PublishMsg(m)))
	out("core.publish", "%s", errText(nc.Publish("go.core.b", []byte("two"))))
	for i := 0; i < 2; i++ {
		got, err := sub.NextMsg(wait)
		if err != nil {
			out("core.sub", "%s", errText(err))
			continue
		}
		out("core.sub", "%s %q K=%q Multi=%q", got.Subject, got.Data, got.Header.Get("K"), got.Header.Values("Multi"))
	}
	_ = sub.Unsubscribe()

	// Request-reply: the responder echoes the payload and one header back.
	echo, _ := nc.Subscribe("go.echo", func(m *nats.Msg) {
		r := nats.NewMsg(m.Reply)
		r.Data = append([]byte("re:"), m.Data...)
		r.Header.Set("Echo", m.Header.Get("Q"))
		_ = m.RespondMsg(r)
	})
	req := nats.NewMsg("go.echo")
	req.Data = []byte("hi")
	req.Header.Set("Q", "hq")
	if resp, err := nc.RequestMsg(req, wait); err != nil {
		out("core.request", "%s", errText(err))
	} else {
		out("core.request", "%q Echo=%q", resp.Data, resp.Header.Get("Echo"))
	}
	_ = echo.Unsubscribe()

	_, err := nc.Request("go.nobody", []byte("x"), wait)
	out("core.no_responders", "%s", errText(err))

	// Queue group: each message reaches one member of the group and every plain subscriber.
	var inGroup, plain int64
	for i := 0; i < 2; i++ {
		_, _ = nc.QueueSubscribe("go.q", "workers", func(*nats.Msg) { atomic.AddInt64(&inGroup, 1) })
	}
	_, _ = nc.Subscribe("go.q", func(*nats.Msg) { atomic.AddInt64(&plain, 1) })
	_ = nc.Flush()
	for i := 0; i < 20; i++ {
		_ = nc.Publish("go.q", []byte("w"))
	}
	_ = nc.Flush()
	deadline := time.Now().Add(wait)
	for (atomic.LoadInt64(&inGroup) < 20 || atomic.LoadInt64(&plain) < 20) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	_ = nc.Flush() // a duplicate delivery would have arrived by now
	out("core.queue", "group=%d plain=%d", atomic.LoadInt64(&inGroup), atomic.LoadInt64(&plain))

	// AutoUnsubscribe: the server stops after the limit, the client counts what it got.
	auto, _ := nc.SubscribeSync("go.auto")
	_ = auto.AutoUnsubscribe(2)
	for i := 0; i < 4; i++ {
		_ = nc.Publish("go.auto", []byte{byte('0' + i)})
	}
	var autoGot []string
	for {
		m, err := auto.NextMsg(500 * time.Millisecond)
		if err != nil {
			out("core.auto_unsubscribe", "%v then %s", autoGot, errText(err))
			break
		}
		autoGot = append(autoGot, string(m.Data))
	}
}

func streamState(js nats.JetStreamContext, name string) string {
	si, err := js.StreamInfo(name)
	if err != nil {
		return errText(err)
	}
	s := si.State
	return fmt.Sprintf("msgs=%d bytes=%d first=%d last=%d deleted=%d subjects=%d consumers=%d",
		s.Msgs, s.Bytes, s.FirstSeq, s.LastSeq, s.NumDeleted, s.NumSubjects, s.Consumers)
}

func streamConfig(c nats.StreamConfig) string {
	return fmt.Sprintf("name=%s subjects=%v retention=%s max_msgs=%d max_bytes=%d max_age=%s max_msg_size=%d "+
		"per_subject=%d discard=%s storage=%s replicas=%d duplicates=%s max_consumers=%d "+
		"sealed=%v deny_delete=%v deny_purge=%v rollup=%v direct=%v",
		c.Name, c.Subjects, c.Retention, c.MaxMsgs, c.MaxBytes, c.MaxAge, c.MaxMsgSize,
		c.MaxMsgsPerSubject, c.Discard, c.Storage, c.Replicas, c.Duplicates, c.MaxConsumers,
		c.Sealed, c.DenyDelete, c.DenyPurge, c.AllowRollup, c.AllowDirect)
}

func streams(js nats.JetStreamContext) {
	_, err := js.StreamInfo("NOPE")
	out("stream.info_missing", "%s", errText(err))
	si, err := js.AddStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.js.>"}})
	if err != nil {
		out("stream.add", "%s", errText(err))
	} else {
		out("stream.add", "%s", streamConfig(si.Config))
	}
	// The same name with the same config is idempotent; with another config it is refused.
	_, err = js.AddStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.js.>"}})
	out("stream.add_same", "%s", errText(err))
	_, err = js.AddStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.other"}})
	out("stream.add_conflict", "%s", errText(err))
	_, err = js.AddStream(&nats.StreamConfig{Name: "GO2", Subjects: []string{"go.js.x"}})
	out("stream.add_overlap", "%s", errText(err))
	_, err = js.AddStream(&nats.StreamConfig{Name: "bad.name"})
	out("stream.add_bad_name", "%s", errText(err))

	si, err = js.UpdateStream(&nats.StreamConfig{
		Name: "GO", Subjects: []string{"go.js.>", "go.more"}, MaxMsgs: 1000, MaxMsgsPerSubject: 100,
		Duplicates: time.Minute,
	})
	if err != nil {
		out("stream.update", "%s", errText(err))
	} else {
		out("stream.update", "%s", streamConfig(si.Config))
	}
	_, err = js.UpdateStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.js.>"}, Storage: nats.MemoryStorage})
	out("stream.update_storage", "%s", errText(err))
	_, err = js.UpdateStream(&nats.StreamConfig{Name: "NOPE", Subjects: []string{"nope"}})
	out("stream.update_missing", "%s", errText(err))

	_, err = js.AddStream(&nats.StreamConfig{Name: "GOMEM", Subjects: []string{"go.mem"}, Storage: nats.MemoryStorage})
	out("stream.add_memory", "%s", errText(err))
	var names []string
	for n := range js.StreamNames() {
		names = append(names, n)
	}
	sort.Strings(names)
	out("stream.names", "%v", names)
	var infos []string
	for si := range js.StreamsInfo() {
		infos = append(infos, si.Config.Name+"/"+si.Config.Storage.String())
	}
	sort.Strings(infos)
	out("stream.infos", "%v", infos)
	out("stream.delete", "%s", errText(js.DeleteStream("GOMEM")))
	out("stream.delete_missing", "%s", errText(js.DeleteStream("GOMEM")))
	if ai, err := js.AccountInfo(); err != nil {
		out("account.info", "%s", errText(err))
	} else {
		out("account.info", "streams=%d consumers=%d", ai.Streams, ai.Consumers)
	}
}

func ack(a *nats.PubAck, err error) string {
	if err != nil {
		return errText(err)
	}
	return fmt.Sprintf("stream=%s seq=%d duplicate=%v", a.Stream, a.Sequence, a.Duplicate)
}

func publish(js nats.JetStreamContext) {
	out("publish.1", "%s", ack(js.Publish("go.js.a", []byte("a1"))))
	out("publish.2", "%s", ack(js.Publish("go.js.b", []byte("b1"))))
	out("publish.msgid", "%s", ack(js.Publish("go.js.a", []byte("a2"), nats.MsgId("id-1"))))
	out("publish.msgid_again", "%s", ack(js.Publish("go.js.a", []byte("a2"), nats.MsgId("id-1"))))
	out("publish.expect_seq_wrong", "%s", ack(js.Publish("go.js.a", []byte("x"), nats.ExpectLastSequence(1))))
	out("publish.expect_seq_right", "%s", ack(js.Publish("go.js.a", []byte("a3"), nats.ExpectLastSequence(3))))
	out("publish.expect_subject_seq_wrong", "%s",
		ack(js.Publish("go.js.b", []byte("x"), nats.ExpectLastSequencePerSubject(1))))
	out("publish.expect_subject_seq_right", "%s",
		ack(js.Publish("go.js.b", []byte("b2"), nats.ExpectLastSequencePerSubject(2))))
	// The last msg ID is the last message's: one published without an ID clears it.
	out("publish.expect_msgid_cleared", "%s", ack(js.Publish("go.js.c", []byte("x"), nats.ExpectLastMsgId("id-1"))))
	out("publish.msgid_2", "%s", ack(js.Publish("go.js.c", []byte("c1"), nats.MsgId("id-2"))))
	out("publish.expect_msgid_wrong", "%s", ack(js.Publish("go.js.c", []byte("x"), nats.ExpectLastMsgId("id-1"))))
	out("publish.expect_msgid_right", "%s",
		ack(js.Publish("go.js.c", []byte("c2"), nats.ExpectLastMsgId("id-2"), nats.MsgId("id-3"))))
	out("publish.expect_stream_wrong", "%s", ack(js.Publish("go.js.c", []byte("x"), nats.ExpectStream("OTHER"))))
	m := nats.NewMsg("go.js.h")
	m.Data = []byte("h1")
	m.Header.Set("K", "v")
	out("publish.headers", "%s", ack(js.PublishMsg(m, nats.ExpectStream("GO"))))
	out("publish.no_stream", "%s", ack(js.Publish("go.nostream", []byte("x"))))
	out("publish.state", "%s", streamState(js, "GO"))
}

func meta(m *nats.Msg) string {
	md, err := m.Metadata()
	if err != nil {
		return errText(err)
	}
	return fmt.Sprintf("%s consumer=%s", anonMeta(m), md.Consumer)
}

// anonMeta leaves out the consumer's name: an ephemeral's is random.
func anonMeta(m *nats.Msg) string {
	md, err := m.Metadata()
	if err != nil {
		return errText(err)
	}
	return fmt.Sprintf("%s %q stream=%s sseq=%d cseq=%d delivered=%d pending=%d",
		m.Subject, m.Data, md.Stream, md.Sequence.Stream, md.Sequence.Consumer, md.NumDelivered, md.NumPending)
}

func consumerInfo(js nats.JetStreamContext, stream, name string) string {
	ci, err := js.ConsumerInfo(stream, name)
	if err != nil {
		return errText(err)
	}
	c := ci.Config
	return fmt.Sprintf("name=%s durable=%s ack=%s deliver=%d replay=%d filter=%q max_deliver=%d ack_wait=%s "+
		"max_ack_pending=%d max_waiting=%d delivered=%d/%d ack_floor=%d/%d ack_pending=%d redelivered=%d pending=%d",
		ci.Name, c.Durable, c.AckPolicy, c.DeliverPolicy, c.ReplayPolicy, c.FilterSubject, c.MaxDeliver, c.AckWait,
		c.MaxAckPending, c.MaxWaiting, ci.Delivered.Consumer, ci.Delivered.Stream, ci.AckFloor.Consumer,
		ci.AckFloor.Stream, ci.NumAckPending, ci.NumRedelivered, ci.NumPending)
}

func pull(js nats.JetStreamContext) {
	out("consumer.info_missing", "%s", consumerInfo(js, "GO", "NOPE"))
	out("consumer.info_missing_stream", "%s", consumerInfo(js, "NOPE", "NOPE"))
	sub, err := js.PullSubscribe("go.js.a", "PULL", nats.BindStream("GO"))
	if err != nil {
		out("pull.subscribe", "%s", errText(err))
		return
	}
	out("pull.created", "%s", consumerInfo(js, "GO", "PULL"))
	msgs, err := sub.Fetch(2, nats.MaxWait(wait))
	out("pull.fetch", "n=%d %s", len(msgs), errText(err))
	for _, m := range msgs {
		out("pull.msg", "%s", meta(m))
		out("pull.ack", "%s", errText(m.AckSync()))
	}
	out("pull.after_ack", "%s", consumerInfo(js, "GO", "PULL"))
	// One left: a fetch of 5 returns what there is rather than waiting for all five.
	msgs, err = sub.Fetch(5, nats.MaxWait(wait))
	out("pull.fetch_rest", "n=%d %s", len(msgs), errText(err))
	for _, m := range msgs {
		out("pull.msg", "%s", meta(m))
		out("pull.nak", "%s", errText(m.Nak()))
	}
	// The nak'd message comes back, marked as delivered twice.
	msgs, err = sub.Fetch(1, nats.MaxWait(wait))
	out("pull.fetch_redelivered", "n=%d %s", len(msgs), errText(err))
	for _, m := range msgs {
		out("pull.msg", "%s", meta(m))
		out("pull.term", "%s", errText(m.Term()))
	}
	msgs, err = sub.Fetch(1, nats.MaxWait(300*time.Millisecond))
	out("pull.fetch_empty", "n=%d %s", len(msgs), errText(err))
	out("pull.final", "%s", consumerInfo(js, "GO", "PULL"))
	var names []string
	for n := range js.ConsumerNames("GO") {
		names = append(names, n)
	}
	out("consumer.names", "%v", names)
	out("consumer.delete", "%s", errText(js.DeleteConsumer("GO", "PULL")))
	out("consumer.delete_missing", "%s", errText(js.DeleteConsumer("GO", "PULL")))
}

func push(js nats.JetStreamContext) {
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	sub, err := js.Subscribe("go.js.b", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, meta(m)+" ack="+errText(m.AckSync()))
		if len(got) == 2 {
			close(done)
		}
	}, nats.Durable("PUSH"), nats.ManualAck(), nats.AckExplicit(), nats.DeliverAll())
	if err != nil {
		out("push.subscribe", "%s", errText(err))
		return
	}
	select {
	case <-done:
	case <-time.After(wait):
	}
	mu.Lock()
	for _, g := range got {
		out("push.msg", "%s", g)
	}
	mu.Unlock()
	out("push.info", "%s", consumerInfo(js, "GO", "PUSH"))
	ci, err := js.ConsumerInfo("GO", "PUSH")
	if err == nil {
		out("push.bound", "%v", ci.PushBound)
	}
	// A second subscriber may not bind to a push consumer that is already bound.
	_, err = js.SubscribeSync("go.js.b", nats.Durable("PUSH"))
	out("push.second_bind", "%s", errText(err))
	// The library created this consumer, so unsubscribing deletes it.
	out("push.unsubscribe", "%s", errText(sub.Unsubscribe()))
	out("push.after_unsubscribe", "%s", consumerInfo(js, "GO", "PUSH"))
}

// consumers manages consumers directly: start policies, update and refused configs.
func consumers(js nats.JetStreamContext) {
	ci, err := js.AddConsumer("GO", &nats.ConsumerConfig{
		Durable: "LAST", AckPolicy: nats.AckExplicitPolicy, DeliverPolicy: nats.DeliverLastPerSubjectPolicy,
		FilterSubject: "go.js.>",
	})
	if err != nil {
		out("consumer.add", "%s", errText(err))
	} else {
		out("consumer.add", "pending=%d", ci.NumPending)
	}
	sub, err := js.PullSubscribe("go.js.>", "LAST", nats.Bind("GO", "LAST"))
	if err != nil {
		out("consumer.bind", "%s", errText(err))
	} else {
		msgs, err := sub.Fetch(10, nats.MaxWait(time.Second))
		out("consumer.last_per_subject", "n=%d %s", len(msgs), errText(err))
		for _, m := range msgs {
			out("consumer.last_per_subject", "%s", meta(m))
		}
	}
	_, err = js.UpdateConsumer("GO", &nats.ConsumerConfig{
		Durable: "LAST", AckPolicy: nats.AckExplicitPolicy, DeliverPolicy: nats.DeliverLastPerSubjectPolicy,
		FilterSubject: "go.js.>", MaxDeliver: 3, Description: "updated",
	})
	out("consumer.update", "%s", errText(err))
	out("consumer.updated", "%s", consumerInfo(js, "GO", "LAST"))
	_, err = js.UpdateConsumer("GO", &nats.ConsumerConfig{
		Durable: "LAST", AckPolicy: nats.AckNonePolicy, DeliverPolicy: nats.DeliverLastPerSubjectPolicy,
		FilterSubject: "go.js.>",
	})
	out("consumer.update_ack_policy", "%s", errText(err))
	_, err = js.UpdateConsumer("GO", &nats.ConsumerConfig{Durable: "NOPE", AckPolicy: nats.AckExplicitPolicy})
	// nats.go 1.22.1 updates through the create API, so a missing consumer is created.
	out("consumer.update_missing", "%s", errText(err))
	ci, err = js.AddConsumer("GO", &nats.ConsumerConfig{
		Durable: "FROM", AckPolicy: nats.AckNonePolicy, DeliverPolicy: nats.DeliverByStartSequencePolicy,
		OptStartSeq: 5,
	})
	if err != nil {
		out("consumer.start_seq", "%s", errText(err))
	} else {
		out("consumer.start_seq", "pending=%d", ci.NumPending)
	}
	_, err = js.AddConsumer("GO", &nats.ConsumerConfig{
		Durable: "OTHER", AckPolicy: nats.AckExplicitPolicy, FilterSubject: "elsewhere.>",
	})
	out("consumer.add_foreign_filter", "%s", errText(err))
	_, err = js.AddConsumer("GO", &nats.ConsumerConfig{
		Durable: "BAD2", AckPolicy: nats.AckExplicitPolicy, DeliverPolicy: nats.DeliverByStartSequencePolicy,
	})
	out("consumer.add_no_start_seq", "%s", errText(err))
	_, err = js.AddConsumer("NOPE", &nats.ConsumerConfig{Durable: "X", AckPolicy: nats.AckExplicitPolicy})
	out("consumer.add_missing_stream", "%s", errText(err))
	var infos []string
	for ci := range js.ConsumersInfo("GO") {
		infos = append(infos, fmt.Sprintf("%s/%d", ci.Name, ci.NumPending))
	}
	sort.Strings(infos)
	out("consumer.infos", "%v", infos)
	out("consumer.stream_state", "%s", streamState(js, "GO"))
	for _, name := range []string{"LAST", "FROM", "OTHER", "NOPE"} {
		out("consumer.delete", "%s", errText(js.DeleteConsumer("GO", name)))
	}
}

func ordered(js nats.JetStreamContext) {
	sub, err := js.SubscribeSync("go.js.>", nats.OrderedConsumer())
	if err != nil {
		out("ordered.subscribe", "%s", errText(err))
		return
	}
	for i := 0; i < 8; i++ {
		m, err := sub.NextMsg(wait)
		if err != nil {
			out("ordered.msg", "%s", errText(err))
			break
		}
		md, _ := m.Metadata()
		out("ordered.msg", "%s %q sseq=%d cseq=%d K=%q", m.Subject, m.Data, md.Sequence.Stream,
			md.Sequence.Consumer, m.Header.Get("K"))
	}
	ci, err := sub.ConsumerInfo()
	if err != nil {
		out("ordered.info", "%s", errText(err))
	} else {
		c := ci.Config
		out("ordered.info", "ack=%s deliver=%d flow_control=%v heartbeat=%s mem=%v replicas=%d pending=%d",
			c.AckPolicy, c.DeliverPolicy, c.FlowControl, c.Heartbeat, c.MemoryStorage, c.Replicas, ci.NumPending)
	}
	_ = sub.Unsubscribe()
}

// extras: async publishing, start policies on push subscriptions, deliver groups, direct get.
func extras(js nats.JetStreamContext) {
	_, err := js.AddStream(&nats.StreamConfig{
		Name: "EX", Subjects: []string{"ex.>"}, Storage: nats.MemoryStorage, AllowDirect: true,
	})
	out("extras.add", "%s", errText(err))
	var futures []nats.PubAckFuture
	for i := 0; i < 50; i++ {
		f, err := js.PublishAsync(fmt.Sprintf("ex.%d", i%5), []byte(fmt.Sprint(i)))
		if err != nil {
			out("extras.publish_async", "%s", errText(err))
			return
		}
		futures = append(futures, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(wait):
	}
	var seqs uint64
	for _, f := range futures {
		select {
		case a := <-f.Ok():
			seqs += a.Sequence
		case err := <-f.Err():
			out("extras.publish_async", "%s", errText(err))
		}
	}
	out("extras.publish_async", "n=%d sum_seq=%d state=%s", len(futures), seqs, streamState(js, "EX"))

	// DeliverLast and DeliverNew, headers only, on ephemeral push consumers.
	last, err := js.SubscribeSync("ex.>", nats.DeliverLast(), nats.HeadersOnly(), nats.AckNone())
	if err == nil {
		m, err := last.NextMsg(wait)
		if err != nil {
			out("extras.deliver_last", "%s", errText(err))
		} else {
			out("extras.deliver_last", "%s size=%q", anonMeta(m), m.Header.Get("Nats-Msg-Size"))
		}
		_ = last.Unsubscribe()
	}
	fresh, err := js.SubscribeSync("ex.new", nats.DeliverNew())
	if err == nil {
		_, err = fresh.NextMsg(300 * time.Millisecond)
		out("extras.deliver_new_none", "%s", errText(err))
		out("extras.deliver_new_publish", "%s", ack(js.Publish("ex.new", []byte("n"))))
		m, err := fresh.NextMsg(wait)
		if err != nil {
			out("extras.deliver_new", "%s", errText(err))
		} else {
			out("extras.deliver_new", "%s", anonMeta(m))
			out("extras.deliver_new_ack", "%s", errText(m.AckSync()))
		}
		_ = fresh.Unsubscribe()
	}
	// A deliver group: two queue members on one durable share the stream, nothing twice.
	var got int64
	var subs []*nats.Subscription
	for i := 0; i < 2; i++ {
		sub, err := js.QueueSubscribe("ex.>", "grp", func(m *nats.Msg) {
			atomic.AddInt64(&got, 1)
			_ = m.Ack()
		}, nats.Durable("GRP"), nats.DeliverAll(), nats.ManualAck())
		if err != nil {
			out("extras.queue", "%s", errText(err))
			return
		}
		subs = append(subs, sub)
	}
	deadline := time.Now().Add(wait)
	for atomic.LoadInt64(&got) < 51 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out("extras.queue", "got=%d", atomic.LoadInt64(&got))
	if ci, err := js.ConsumerInfo("EX", "GRP"); err == nil {
		out("extras.queue_info", "group=%s delivered=%d/%d", ci.Config.DeliverGroup, ci.Delivered.Consumer,
			ci.Delivered.Stream)
	}
	for _, sub := range subs {
		_ = sub.Unsubscribe()
	}
	out("extras.direct_get", "%s", rawMsg(js.GetMsg("EX", 7, nats.DirectGet())))
	out("extras.direct_get_next", "%s", rawMsg(js.GetMsg("EX", 7, nats.DirectGetNext("ex.4"))))
	out("extras.direct_get_last", "%s", rawMsg(js.GetLastMsg("EX", "ex.2", nats.DirectGet())))
	out("extras.direct_get_missing", "%s", rawMsg(js.GetMsg("EX", 999, nats.DirectGet())))
	out("extras.delete", "%s", errText(js.DeleteStream("EX")))
}

func rawMsg(m *nats.RawStreamMsg, err error) string {
	if err != nil {
		return errText(err)
	}
	return fmt.Sprintf("%s seq=%d %q K=%q", m.Subject, m.Sequence, m.Data, m.Header.Get("K"))
}

func messages(js nats.JetStreamContext) {
	out("get.1", "%s", rawMsg(js.GetMsg("GO", 1)))
	out("get.headers", "%s", rawMsg(js.GetMsg("GO", 8)))
	out("get.missing", "%s", rawMsg(js.GetMsg("GO", 99)))
	out("get.missing_stream", "%s", rawMsg(js.GetMsg("NOPE", 1)))
	out("get.last", "%s", rawMsg(js.GetLastMsg("GO", "go.js.a")))
	out("get.last_missing", "%s", rawMsg(js.GetLastMsg("GO", "go.js.zzz")))
	si, err := js.StreamInfo("GO", &nats.StreamInfoRequest{SubjectsFilter: "go.js.*"})
	if err != nil {
		out("info.subjects", "%s", errText(err))
	} else {
		var subjects []string
		for subj, n := range si.State.Subjects {
			subjects = append(subjects, fmt.Sprintf("%s=%d", subj, n))
		}
		sort.Strings(subjects)
		out("info.subjects", "%v", subjects)
	}
	var names []string
	for n := range js.StreamNames(nats.StreamListFilter("go.js.c")) {
		names = append(names, n)
	}
	out("stream.names_filtered", "%v", names)
	out("delete.msg", "%s", errText(js.DeleteMsg("GO", 2)))
	out("delete.msg_again", "%s", errText(js.DeleteMsg("GO", 2)))
	out("delete.secure", "%s", errText(js.SecureDeleteMsg("GO", 3)))
	out("delete.get", "%s", rawMsg(js.GetMsg("GO", 2)))
	out("delete.state", "%s", streamState(js, "GO"))
	out("purge.subject", "%s", errText(js.PurgeStream("GO", &nats.StreamPurgeRequest{Subject: "go.js.a"})))
	out("purge.subject_state", "%s", streamState(js, "GO"))
	out("purge.keep", "%s", errText(js.PurgeStream("GO", &nats.StreamPurgeRequest{Keep: 1})))
	out("purge.keep_state", "%s", streamState(js, "GO"))
	out("purge.all", "%s", errText(js.PurgeStream("GO")))
	out("purge.all_state", "%s", streamState(js, "GO"))
	out("purge.missing", "%s", errText(js.PurgeStream("NOPE")))
	out("purge.publish", "%s", ack(js.Publish("go.js.a", []byte("after"))))
}

// limits: the ways a stream refuses a message or a change.
func limits(js nats.JetStreamContext) {
	_, err := js.AddStream(&nats.StreamConfig{
		Name: "LIM", Subjects: []string{"lim.>"}, DenyPurge: true, AllowRollup: true,
	})
	out("limits.add_rollup_deny_purge", "%s", errText(err))
	_, err = js.AddStream(&nats.StreamConfig{
		Name: "LIM", Subjects: []string{"lim.>"}, MaxMsgs: 2, Discard: nats.DiscardNew, MaxMsgSize: 48,
		Storage: nats.MemoryStorage, DenyDelete: true, AllowRollup: true,
	})
	out("limits.add", "%s", errText(err))
	for i := 0; i < 3; i++ {
		out("limits.publish", "%s", ack(js.Publish("lim.a", []byte{byte('0' + i)})))
	}
	out("limits.too_big", "%s", ack(js.Publish("lim.b", make([]byte, 49))))
	out("limits.delete_denied", "%s", errText(js.DeleteMsg("LIM", 1)))
	// A rollup replaces every message in the stream with this one.
	m := nats.NewMsg("lim.r")
	m.Data = []byte("r")
	m.Header.Set(nats.MsgRollup, nats.MsgRollupAll)
	out("limits.rollup", "%s", ack(js.PublishMsg(m)))
	out("limits.rollup_state", "%s", streamState(js, "LIM"))
	m = nats.NewMsg("lim.r")
	m.Header.Set(nats.MsgRollup, "bogus")
	out("limits.rollup_bad", "%s", ack(js.PublishMsg(m)))
	_, err = js.UpdateStream(&nats.StreamConfig{
		Name: "LIM", Subjects: []string{"lim.>"}, MaxMsgs: 2, Discard: nats.DiscardNew, MaxMsgSize: 48,
		Storage: nats.MemoryStorage, DenyDelete: false, AllowRollup: true,
	})
	out("limits.update_deny_delete", "%s", errText(err))
	_, err = js.UpdateStream(&nats.StreamConfig{
		Name: "LIM", Subjects: []string{"lim.>"}, MaxMsgs: 2, Discard: nats.DiscardNew, MaxMsgSize: 48,
		Storage: nats.MemoryStorage, DenyDelete: true, AllowRollup: true, Sealed: true,
	})
	out("limits.seal", "%s", errText(err))
	out("limits.publish_sealed", "%s", ack(js.Publish("lim.a", []byte("s"))))
	out("limits.delete", "%s", errText(js.DeleteStream("LIM")))
	_, err = js.AddStream(&nats.StreamConfig{Name: "WQ", Subjects: []string{"wq.>"}, Retention: nats.WorkQueuePolicy})
	out("workqueue.add", "%s", errText(err))
	_, err = js.AddConsumer("WQ", &nats.ConsumerConfig{Durable: "W1", AckPolicy: nats.AckExplicitPolicy})
	out("workqueue.consumer", "%s", errText(err))
	_, err = js.AddConsumer("WQ", &nats.ConsumerConfig{Durable: "W2", AckPolicy: nats.AckExplicitPolicy})
	out("workqueue.second_unfiltered", "%s", errText(err))
	out("workqueue.publish", "%s", ack(js.Publish("wq.a", []byte("job"))))
	sub, err := js.PullSubscribe("wq.>", "W1", nats.Bind("WQ", "W1"))
	if err == nil {
		msgs, err := sub.Fetch(1, nats.MaxWait(wait))
		out("workqueue.fetch", "n=%d %s", len(msgs), errText(err))
		for _, m := range msgs {
			out("workqueue.ack", "%s", errText(m.AckSync()))
		}
	}
	out("workqueue.state", "%s", streamState(js, "WQ"))
	out("workqueue.delete", "%s", errText(js.DeleteStream("WQ")))
}

// redelivery: an unacked message comes back after ack_wait, up to max_deliver times.
func redelivery(js nats.JetStreamContext) {
	_, err := js.AddStream(&nats.StreamConfig{Name: "RD", Subjects: []string{"rd"}, Storage: nats.MemoryStorage})
	out("redelivery.add", "%s", errText(err))
	out("redelivery.publish", "%s", ack(js.Publish("rd", []byte("again"))))
	sub, err := js.PullSubscribe("rd", "RD", nats.BindStream("RD"), nats.AckWait(300*time.Millisecond), nats.MaxDeliver(2))
	if err != nil {
		out("redelivery.subscribe", "%s", errText(err))
		return
	}
	for i := 0; i < 2; i++ {
		msgs, err := sub.Fetch(1, nats.MaxWait(wait))
		out("redelivery.fetch", "n=%d %s", len(msgs), errText(err))
		for _, m := range msgs {
			out("redelivery.msg", "%s", meta(m))
			if i == 0 {
				out("redelivery.in_progress", "%s", errText(m.InProgress()))
			}
		}
	}
	msgs, err := sub.Fetch(1, nats.MaxWait(time.Second))
	out("redelivery.exhausted", "n=%d %s", len(msgs), errText(err))
	// The last delivery leaves ack pending once its ack_wait has run out; wait for that
	// rather than for a fixed time.
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if ci, err := js.ConsumerInfo("RD", "RD"); err != nil || ci.NumAckPending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	out("redelivery.info", "%s", consumerInfo(js, "RD", "RD"))
	out("redelivery.delete", "%s", errText(js.DeleteStream("RD")))
}

func entry(e nats.KeyValueEntry, err error) string {
	if err != nil {
		return errText(err)
	}
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s %s=%q rev=%d delta=%d", e.Operation(), e.Key(), e.Value(), e.Revision(), e.Delta())
}

func rev(r uint64, err error) string {
	if err != nil {
		return errText(err)
	}
	return fmt.Sprintf("rev=%d", r)
}

func keyValue(js nats.JetStreamContext) {
	_, err := js.KeyValue("NOPE")
	out("kv.missing_bucket", "%s", errText(err))
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "CFG", History: 5})
	if err != nil {
		out("kv.create", "%s", errText(err))
		return
	}
	si, err := js.StreamInfo("KV_CFG")
	if err == nil {
		out("kv.stream", "%s", streamConfig(si.Config))
	}
	_, err = js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "CFG", History: 5})
	out("kv.create_again", "%s", errText(err))

	// Watch everything from the start: initial values, then nil, then live updates.
	watcher, err := kv.WatchAll()
	if err != nil {
		out("kv.watch", "%s", errText(err))
		return
	}
	e, err := nextUpdate(watcher)
	out("kv.watch_initial", "%s", entry(e, err))

	out("kv.put", "%s", rev(kv.Put("a", []byte("1"))))
	out("kv.put", "%s", rev(kv.PutString("a", "2")))
	out("kv.put", "%s", rev(kv.Put("b.c", []byte("x"))))
	out("kv.get", "%s", entry(kv.Get("a")))
	out("kv.get_revision", "%s", entry(kv.GetRevision("a", 1)))
	out("kv.get_missing", "%s", entry(kv.Get("zzz")))
	out("kv.create_existing", "%s", rev(kv.Create("a", []byte("3"))))
	out("kv.update_wrong", "%s", rev(kv.Update("a", []byte("3"), 1)))
	out("kv.update_right", "%s", rev(kv.Update("a", []byte("3"), 2)))
	out("kv.delete", "%s", errText(kv.Delete("b.c")))
	out("kv.get_deleted", "%s", entry(kv.Get("b.c")))
	out("kv.create_after_delete", "%s", rev(kv.Create("b.c", []byte("y"))))
	out("kv.bad_key", "%s", rev(kv.Put("bad key", []byte("x"))))
	hist, err := kv.History("a")
	out("kv.history", "n=%d %s", len(hist), errText(err))
	for _, h := range hist {
		out("kv.history", "%s", entry(h, nil))
	}
	keys, err := kv.Keys()
	sort.Strings(keys)
	out("kv.keys", "%v %s", keys, errText(err))
	// Live updates: delta counts what was stored after the entry when it was delivered,
	// which depends on timing, so it is cut off.
	for i := 0; i < 6; i++ {
		e, err := nextUpdate(watcher)
		text := entry(e, err)
		out("kv.watch", "%s", text[:strings.Index(text+" delta=", " delta=")])
	}
	_ = watcher.Stop()

	// A key watch started late sees the latest value, then the end marker.
	kw, err := kv.Watch("a")
	if err == nil {
		for i := 0; i < 2; i++ {
			e, err := nextUpdate(kw)
			out("kv.watch_key", "%s", entry(e, err))
		}
		_ = kw.Stop()
	}
	// With history, a watch replays every revision of the key, not only the latest.
	hw, err := kv.Watch("b.c", nats.IncludeHistory(), nats.MetaOnly())
	if err == nil {
		for i := 0; i < 4; i++ {
			e, err := nextUpdate(hw)
			out("kv.watch_history", "%s", entry(e, err))
		}
		_ = hw.Stop()
	}
	out("kv.purge", "%s", errText(kv.Purge("a")))
	out("kv.get_purged", "%s", entry(kv.Get("a")))
	hist, err = kv.History("a")
	out("kv.history_purged", "n=%d %s", len(hist), errText(err))
	out("kv.purge_deletes", "%s", errText(kv.PurgeDeletes()))
	keys, err = kv.Keys()
	out("kv.keys_after_purge", "%v %s", keys, errText(err))
	st, err := kv.Status()
	if err == nil {
		out("kv.status", "bucket=%s values=%d history=%d ttl=%s", st.Bucket(), st.Values(), st.History(), st.TTL())
	}
	var buckets []string
	for n := range js.KeyValueStoreNames() {
		buckets = append(buckets, n)
	}
	out("kv.names", "%v", buckets)
	out("kv.delete_bucket", "%s", errText(js.DeleteKeyValue("CFG")))
	_, err = js.KeyValue("CFG")
	out("kv.deleted_bucket", "%s", errText(err))
}

func nextUpdate(w nats.KeyWatcher) (nats.KeyValueEntry, error) {
	select {
	case e := <-w.Updates():
		return e, nil
	case <-time.After(wait):
		return nil, nats.ErrTimeout
	}
}

func objectStore(js nats.JetStreamContext) {
	_, err := js.ObjectStore("NOPE")
	out("obj.missing_bucket", "%s", errText(err))
	obs, err := js.CreateObjectStore(&nats.ObjectStoreConfig{Bucket: "FILES"})
	if err != nil {
		out("obj.create", "%s", errText(err))
		return
	}
	// 300 KiB: three chunks at nats.go's 128 KiB chunk size.
	blob := bytes.Repeat([]byte("0123456789abcdef"), 300*1024/16)
	info, err := obs.PutBytes("blob", blob)
	if err != nil {
		out("obj.put", "%s", errText(err))
		return
	}
	out("obj.put", "name=%s size=%d chunks=%d digest=%s", info.Name, info.Size, info.Chunks, info.Digest)
	got, err := obs.GetBytes("blob")
	if err != nil {
		out("obj.get", "%s", errText(err))
	} else {
		out("obj.get", "len=%d sha256=%x", len(got), sha256.Sum256(got))
	}
	_, err = obs.PutString("small", "hello")
	out("obj.put_small", "%s", errText(err))
	s, err := obs.GetString("small")
	out("obj.get_small", "%q %s", s, errText(err))
	_, err = obs.GetBytes("nope")
	out("obj.get_missing", "%s", errText(err))
	list, err := obs.List()
	var names []string
	for _, o := range list {
		names = append(names, fmt.Sprintf("%s/%d", o.Name, o.Size))
	}
	sort.Strings(names)
	out("obj.list", "%v %s", names, errText(err))
	link, err := obs.GetInfo("small")
	if err == nil {
		l, err := obs.AddLink("alias", link)
		out("obj.link", "%s", errText(err))
		if err == nil {
			out("obj.link_info", "name=%s to=%s/%s", l.Name, l.Opts.Link.Bucket, l.Opts.Link.Name)
		}
		s, err := obs.GetString("alias")
		out("obj.get_link", "%q %s", s, errText(err))
	}
	err = obs.UpdateMeta("small", &nats.ObjectMeta{Name: "small", Description: "tiny"})
	out("obj.update_meta", "%s", errText(err))
	if info, err := obs.GetInfo("small"); err == nil {
		out("obj.info", "name=%s size=%d chunks=%d description=%q", info.Name, info.Size, info.Chunks, info.Description)
	}
	out("obj.delete", "%s", errText(obs.Delete("blob")))
	_, err = obs.GetBytes("blob")
	out("obj.get_deleted", "%s", errText(err))
	out("obj.seal", "%s", errText(obs.Seal()))
	_, err = obs.PutString("late", "x")
	out("obj.put_sealed", "%s", errText(err))
	st, err := obs.Status()
	if err == nil {
		out("obj.status", "bucket=%s sealed=%v", st.Bucket(), st.Sealed())
	}
	si, err := js.StreamInfo("OBJ_FILES")
	if err == nil {
		out("obj.stream", "%s", streamConfig(si.Config))
	}
	out("obj.delete_bucket", "%s", errText(js.DeleteObjectStore("FILES")))
}
