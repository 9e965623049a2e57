/*
 * test_hosts.c - the host handshake over a CURVE link on 127.0.0.1: an
 * authorized agent's host_hello is accepted, one announcing another
 * runner protocol or module ABI is refused with a reason naming both
 * versions; and the runner-host settings: a non-loopback listen without
 * keys is refused naming the missing setting, the default port is added,
 * and a start request's host selection is read or refused.
 */
#include "core/curve.h"
#include "core/proto.h"
#include "core/transport.h"
#include "mite/mite.h"
#include "mited/conf_hosts.h"
#include "mited/hostproto.h"
#include "mited/modship.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void mkdirs(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mite-test-hosts-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char p[512];
	snprintf(p, sizeof(p), "%s/auth", dir);
	cr_assert_eq(mkdir(p, 0700), 0);
}

static void rmdirs(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(hosts, .init = mkdirs, .fini = rmdirs);

/* ---- the handshake: a controller's answer to host_hello ---------------- */

typedef struct fx {
	uv_loop_t loop;
	uv_timer_t timer;
	tzmq_server *srv;
	transport *cl, *sp;
	int ticks;
	char answer[64], reason[512], user[80];
} fx;

static int authorize(const char *address, const unsigned char key[32], char *user, size_t ulen,
		     char *reason, size_t rlen, void *data)
{
	char auth[512];
	(void)address;
	(void)data;
	snprintf(auth, sizeof(auth), "%s/auth", dir);
	return curve_authorized(auth, key, user, ulen, reason, rlen) == 1;
}

/* What mited's hosts.c does with a hello: check, then welcome or refuse. */
static void on_unknown(tzmq_server *s, const char *id, const char *msg, size_t len, void *data)
{
	fx *f = data;
	char err[256], reason[512];
	hostproto_caps c;
	cJSON *m = proto_parse(msg, len, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_str_eq(proto_type(m), HOSTPROTO_HELLO);
	snprintf(f->user, sizeof(f->user), "%s", tzmq_server_msg_user(s));
	int ok = hostproto_check_hello(m, &c, reason, sizeof(reason));
	f->sp = tzmq_server_expect(s, id);
	cr_assert_not_null(f->sp);
	cJSON *r = proto_new(ok ? HOSTPROTO_WELCOME : HOSTPROTO_REFUSED);
	if (!ok)
		cJSON_AddStringToObject(r, "reason", reason);
	proto_send(f->sp, r);
	cJSON_Delete(m);
}

static void on_answer(transport *t, const char *msg, size_t len, void *data)
{
	fx *f = data;
	char err[256];
	(void)t;
	cJSON *m = proto_parse(msg, len, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	snprintf(f->answer, sizeof(f->answer), "%s", proto_type(m));
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(m, "reason");
	if (cJSON_IsString(why))
		snprintf(f->reason, sizeof(f->reason), "%s", why->valuestring);
	cJSON_Delete(m);
}

static void tick(uv_timer_t *h)
{
	fx *f = h->data;
	if (++f->ticks < 50 && !f->answer[0])
		return;
	uv_timer_stop(h);
	uv_close((uv_handle_t *)h, NULL);
	transport_close(f->cl);
	if (f->sp)
		transport_close(f->sp);
	tzmq_server_close(f->srv);
}

static void keygen(const char *name, int authorized)
{
	char p[512], err[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(curve_keygen(p, err, sizeof(err)), 0, "%s", err);
	if (authorized) {
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "cp '%s/%s.pub' '%s/auth/'", dir, name, dir);
		cr_assert_eq(system(cmd), 0);
	}
}

/* An agent with key host1 says hello with these protocol and ABI. */
static void handshake(fx *f, int proto, int abi)
{
	char p[512], err[512];
	tzmq_curve scv = { .authorize = authorize }, ccv = { 0 };
	memset(f, 0, sizeof(*f));
	keygen("ctl", 0);
	keygen("host1", 1);
	snprintf(p, sizeof(p), "%s/ctl.key", dir);
	cr_assert_eq(curve_read_secret(p, scv.secret, NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(p, sizeof(p), "%s/host1.key", dir);
	cr_assert_eq(curve_read_secret(p, ccv.secret, NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(p, sizeof(p), "%s/ctl.pub", dir);
	cr_assert_eq(curve_read_public(p, ccv.server_public, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(uv_loop_init(&f->loop), 0);
	f->srv = tzmq_server_new_curve(&f->loop, "tcp://127.0.0.1:0", on_unknown, f, &scv, err,
				       sizeof(err));
	cr_assert_not_null(f->srv, "%s", err);
	f->cl = tzmq_connect_curve(&f->loop, tzmq_server_endpoint(f->srv), "agent.t.1", &ccv, err,
				   sizeof(err));
	cr_assert_not_null(f->cl, "%s", err);
	f->cl->on_recv = on_answer;
	f->cl->data = f;
	hostproto_caps c;
	hostproto_local_caps(&c, 3);
	c.proto = proto;
	c.abi = abi;
	cr_assert_eq(proto_send(f->cl, hostproto_hello(&c)), 0);
	uv_timer_init(&f->loop, &f->timer);
	f->timer.data = f;
	uv_timer_start(&f->timer, tick, 100, 100);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&f->loop), 0);
}

Test(hosts, accepted_key_and_version_join)
{
	fx f;
	handshake(&f, PROTO_VERSION, MITE_ABI_VERSION);
	cr_assert_str_eq(f.answer, HOSTPROTO_WELCOME);
	cr_assert_str_eq(f.user, "host1");
}

Test(hosts, other_protocol_refused)
{
	fx f;
	handshake(&f, PROTO_VERSION + 1, MITE_ABI_VERSION);
	cr_assert_str_eq(f.answer, HOSTPROTO_REFUSED);
	cr_assert(strstr(f.reason, "version mismatch") && strstr(f.reason, "runner protocol"), "%s",
		  f.reason);
}

Test(hosts, other_abi_refused)
{
	fx f;
	handshake(&f, PROTO_VERSION, MITE_ABI_VERSION + 7);
	cr_assert_str_eq(f.answer, HOSTPROTO_REFUSED);
	char want[64];
	snprintf(want, sizeof(want), "module ABI %d", MITE_ABI_VERSION + 7);
	cr_assert(strstr(f.reason, want), "%s", f.reason);
}

Test(hosts, hello_garbage_refused)
{
	char reason[512];
	hostproto_caps c;
	cJSON *m = cJSON_Parse("{\"v\":1,\"t\":\"host_hello\",\"proto\":1,\"abi\":1,\"cores\":0,"
			       "\"memory\":1,\"runners\":1}");
	cr_assert_eq(hostproto_check_hello(m, &c, reason, sizeof(reason)), 0);
	cr_assert(strstr(reason, "out of bounds"), "%s", reason);
	cJSON_Delete(m);
	m = cJSON_Parse("{\"v\":1,\"t\":\"host_hello\"}");
	cr_assert_eq(hostproto_check_hello(m, &c, reason, sizeof(reason)), 0);
	cJSON_Delete(m);
}

/* ---- module shipping: digests and base64 -------------------------------- */

Test(hosts, modship_digest_and_base64)
{
	char hex[MODSHIP_HEX + 1], err[512], p[512];
	modship_digest((const unsigned char *)"abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cr_assert(modship_hex_ok(hex));
	cr_assert(!modship_hex_ok("BA7816bf"), "short, upper case");
	for (size_t n = 0; n < 8; n++) {
		unsigned char in[8] = { 0, 1, 2, 0xff, 0xfe, 'a', '=', 0 };
		size_t len = 99;
		char *b = modship_b64(in, n);
		unsigned char *out = modship_unb64(b, &len);
		cr_assert_not_null(out);
		cr_assert_eq(len, n, "length %zu back as %zu", n, len);
		cr_assert_eq(memcmp(in, out, n), 0);
		free(b);
		free(out);
	}
	size_t len;
	cr_assert_null(modship_unb64("abc", &len), "not a multiple of 4");
	cr_assert_null(modship_unb64("a!c=", &len), "not base64");
	/* A file: its digest and size; a folder is refused. */
	snprintf(p, sizeof(p), "%s/m.so", dir);
	FILE *f = fopen(p, "w");
	fputs("abc", f);
	fclose(f);
	uint64_t size = 0;
	unsigned char *data = NULL;
	cr_assert_eq(modship_digest_file(p, hex, &size, &data, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(size, 3);
	cr_assert_eq(memcmp(data, "abc", 3), 0);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	free(data);
	cr_assert_eq(modship_digest_file(dir, hex, &size, NULL, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
}

/* ---- the settings ------------------------------------------------------- */

Test(hosts, listen_beyond_loopback_needs_keys)
{
	char err[1024], p[512];
	conf_hosts h = { 0 };
	h.listen = conf_hosts_endpoint("listen", "tcp://0.0.0.0", err, sizeof(err));
	cr_assert_str_eq(h.listen, "tcp://0.0.0.0:14301", "the default port");
	cr_assert_eq(conf_hosts_check(&h, err, sizeof(err)), -1);
	cr_assert(strstr(err, "key (--key) is not set"), "%s", err);
	keygen("c", 0);
	snprintf(p, sizeof(p), "%s/c.key", dir);
	h.key = strdup(p);
	cr_assert_eq(conf_hosts_check(&h, err, sizeof(err)), -1);
	cr_assert(strstr(err, "authorized_keys (--authorized-keys) is not set"), "%s", err);
	snprintf(p, sizeof(p), "%s/auth", dir);
	h.authorized_keys = strdup(p);
	cr_assert_eq(conf_hosts_check(&h, err, sizeof(err)), 0, "%s", err);
	conf_hosts_free(&h);
	/* Loopback without keys: allowed (and logged as such by mited). */
	h.listen = conf_hosts_endpoint("listen", "tcp://127.0.0.1:0", err, sizeof(err));
	cr_assert_eq(conf_hosts_check(&h, err, sizeof(err)), 0, "%s", err);
	conf_hosts_free(&h);
	cr_assert_null(conf_hosts_endpoint("listen", "udp://x", err, sizeof(err)));
	cr_assert_null(conf_hosts_endpoint("listen", "tcp://x:99999", err, sizeof(err)));
}

Test(hosts, agent_needs_both_keys)
{
	char err[1024];
	conf_hosts h = { 0 };
	h.agent = strdup("tcp://10.0.0.1:14301");
	cr_assert_eq(conf_hosts_check(&h, err, sizeof(err)), -1);
	cr_assert(strstr(err, "key (--key) is not set"), "%s", err);
	h.listen = strdup("tcp://127.0.0.1:1");
	cr_assert_eq(conf_hosts_check(&h, err, sizeof(err)), -1);
	cr_assert(strstr(err, "cannot both be set"), "%s", err);
	conf_hosts_free(&h);
}

Test(hosts, selection)
{
	char err[512];
	hosts_sel s;
	cr_assert_eq(hosts_sel_parse(NULL, 0, 0, -1, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.mode, HOSTS_SEL_ALL);
	cr_assert_eq(s.local, -1);
	cr_assert_eq(hosts_sel_parse("3", 0, 0, 1, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.mode, HOSTS_SEL_COUNT);
	cr_assert_eq(s.count, 3);
	cr_assert_eq(hosts_sel_parse("label=eu", 0, 0, 0, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.mode, HOSTS_SEL_LABEL);
	cr_assert_str_eq(s.label, "eu");
	cr_assert_eq(hosts_sel_parse("none", 0, 0, 1, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.mode, HOSTS_SEL_NONE);
	cr_assert_eq(hosts_sel_parse("0", 0, 0, 1, &s, err, sizeof(err)), -1);
	cr_assert_eq(hosts_sel_parse("label=", 0, 0, 1, &s, err, sizeof(err)), -1);
	cr_assert_eq(hosts_sel_parse(NULL, 2.5, 1, 1, &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "expected all, none"), "%s", err);
}
