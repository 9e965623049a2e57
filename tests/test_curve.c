/*
 * test_curve.c - CURVE between hosts on 127.0.0.1: key files (mitectl
 * keygen), and the ZAP handler of a CURVE server: an authorized key gets
 * in with its name as User-Id, an unauthorized key and a wrong server key
 * are refused at the handshake (nothing delivered), and the client is told
 * why.
 */
#include "core/curve.h"
#include "core/transport.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void mkdirs(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mite-test-curve-XXXXXX");
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

static void keygen(const char *name)
{
	char p[512], err[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(curve_keygen(p, err, sizeof(err)), 0, "%s", err);
}

TestSuite(curve, .init = mkdirs, .fini = rmdirs);

Test(curve, keygen_modes_and_no_overwrite)
{
	char p[512], err[512], sec[41], pub[41], pub2[41];
	struct stat st;
	keygen("a");
	snprintf(p, sizeof(p), "%s/a.key", dir);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(curve_read_secret(p, sec, pub, err, sizeof(err)), 0, "%s", err);
	snprintf(p, sizeof(p), "%s/a.pub", dir);
	cr_assert_eq(curve_read_public(p, pub2, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(pub, pub2, "the .pub is the .key's public key");
	/* Never overwritten. */
	snprintf(p, sizeof(p), "%s/a", dir);
	cr_assert_eq(curve_keygen(p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "exists"), "%s", err);
	/* A secret others may read is refused. */
	snprintf(p, sizeof(p), "%s/a.key", dir);
	cr_assert_eq(chmod(p, 0644), 0);
	cr_assert_eq(curve_read_secret(p, sec, pub, err, sizeof(err)), -1);
	cr_assert(strstr(err, "others may read"), "%s", err);
	/* Not a key. */
	snprintf(p, sizeof(p), "%s/bad.pub", dir);
	FILE *f = fopen(p, "w");
	fputs("# comment\nnot-a-key\n", f);
	fclose(f);
	cr_assert_eq(curve_read_public(p, pub, err, sizeof(err)), -1);
	cr_assert(strstr(err, ":2: not a CURVE key"), "%s", err);
}

typedef struct fx {
	uv_loop_t loop;
	uv_timer_t timer;
	tzmq_server *srv;
	transport *cl;
	int delivered, refused_auth, up, refused_link, ticks;
	char user[80], addr[80], link_why[256], auth_reason[256];
} fx;

static int authorize(const char *address, const unsigned char key[32], char *user, size_t ulen,
		     char *reason, size_t rlen, void *data)
{
	fx *f = data;
	char auth[512];
	snprintf(auth, sizeof(auth), "%s/auth", dir);
	int rc = curve_authorized(auth, key, user, ulen, reason, rlen);
	if (rc != 1) {
		f->refused_auth++;
		snprintf(f->auth_reason, sizeof(f->auth_reason), "%s from %s", reason, address);
	}
	return rc;
}

static void on_unknown(tzmq_server *s, const char *id, const char *msg, size_t len, void *data)
{
	fx *f = data;
	(void)id;
	(void)msg;
	(void)len;
	f->delivered++;
	snprintf(f->user, sizeof(f->user), "%s", tzmq_server_msg_user(s));
	snprintf(f->addr, sizeof(f->addr), "%s", tzmq_server_msg_address(s));
}

static void on_link(transport *t, int state, const char *why, void *data)
{
	fx *f = data;
	(void)t;
	if (state == TZMQ_LINK_UP)
		f->up++;
	if (state == TZMQ_LINK_REFUSED) {
		f->refused_link++;
		snprintf(f->link_why, sizeof(f->link_why), "%s", why);
	}
}

static void tick(uv_timer_t *h)
{
	fx *f = h->data;
	/* Done once the outcome is known (delivered, or refused on both
	 * sides), or after 6 s. */
	if (++f->ticks < 60 && !f->delivered &&
	    !(f->refused_link && (f->refused_auth || f->ticks > 30)))
		return;
	uv_timer_stop(h);
	uv_close((uv_handle_t *)h, NULL);
	transport_close(f->cl);
	tzmq_server_close(f->srv);
}

/* A CURVE server with key "srv" and the client key `client` (its .pub
 * copied into auth/ when authorized), the client trusting server key
 * `server_pub`; runs until the outcome is known. */
static void run_case(fx *f, const char *client, int authorized, const char *server_pub)
{
	char p[512], q[512], err[512];
	tzmq_curve scv = { 0 }, ccv = { 0 };
	memset(f, 0, sizeof(*f));
	keygen("srv");
	keygen(client);
	if (authorized) {
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "cp '%s/%s.pub' '%s/auth/'", dir, client, dir);
		cr_assert_eq(system(cmd), 0);
	}
	snprintf(p, sizeof(p), "%s/srv.key", dir);
	cr_assert_eq(curve_read_secret(p, scv.secret, NULL, err, sizeof(err)), 0, "%s", err);
	scv.authorize = authorize;
	scv.data = f;
	snprintf(p, sizeof(p), "%s/%s.key", dir, client);
	cr_assert_eq(curve_read_secret(p, ccv.secret, NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(q, sizeof(q), "%s/%s.pub", dir, server_pub);
	cr_assert_eq(curve_read_public(q, ccv.server_public, err, sizeof(err)), 0, "%s", err);
	ccv.on_link = on_link;
	ccv.data = f;

	cr_assert_eq(uv_loop_init(&f->loop), 0);
	f->srv = tzmq_server_new_curve(&f->loop, "tcp://127.0.0.1:0", on_unknown, f, &scv, err,
				       sizeof(err));
	cr_assert_not_null(f->srv, "%s", err);
	f->cl = tzmq_connect_curve(&f->loop, tzmq_server_endpoint(f->srv), "agent.test", &ccv, err,
				   sizeof(err));
	cr_assert_not_null(f->cl, "%s", err);
	cr_assert_eq(transport_send(f->cl, "{\"t\":\"hello\"}", 13), 0);
	uv_timer_init(&f->loop, &f->timer);
	f->timer.data = f;
	uv_timer_start(&f->timer, tick, 100, 100);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&f->loop), 0, "every handle closed");
}

Test(curve, authorized_key_joins_with_its_name)
{
	fx f;
	run_case(&f, "host1", 1, "srv");
	cr_assert_eq(f.delivered, 1, "the hello was delivered");
	cr_assert_str_eq(f.user, "host1", "User-Id is the .pub file's name");
	cr_assert_str_eq(f.addr, "127.0.0.1");
	cr_assert_eq(f.refused_auth, 0);
	cr_assert_eq(f.refused_link, 0);
}

Test(curve, unauthorized_key_refused)
{
	fx f;
	run_case(&f, "stranger", 0, "srv");
	cr_assert_eq(f.delivered, 0, "nothing of an unauthorized host is delivered");
	cr_assert_geq(f.refused_auth, 1);
	cr_assert(strstr(f.auth_reason, "key not in") && strstr(f.auth_reason, "127.0.0.1"), "%s",
		  f.auth_reason);
	cr_assert_geq(f.refused_link, 1, "the client is told");
	cr_assert(strstr(f.link_why, "refused our key"), "%s", f.link_why);
}

Test(curve, wrong_server_key_refused)
{
	fx f;
	keygen("impostor");
	run_case(&f, "host1", 1, "impostor");
	cr_assert_eq(f.delivered, 0, "nothing crosses with a wrong server key");
	cr_assert_geq(f.refused_link, 1);
	cr_assert(strstr(f.link_why, "wrong server key"), "%s", f.link_why);
}
