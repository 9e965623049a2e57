/*
 * test_proto_msg.c - the typed codec of targets, rows and stats
 * (core/proto_msg.h): each message encodes to the bytes the protocol has
 * always had (the JSON below is what run.c and runner.c built by hand
 * before the codec) and decodes back; malformed fields read as absent.
 */
#include "core/proto.h"
#include "core/proto_msg.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

/* m serialised as it goes on the wire (m is deleted). */
static char *wire(cJSON *m)
{
	char *s;

	cr_assert_not_null(m);
	s = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	cr_assert_not_null(s);
	return s;
}

static cJSON *parse(const char *s)
{
	char err[256];
	cJSON *m = proto_parse(s, strlen(s), err, sizeof err);

	cr_assert_not_null(m, "%s", err);
	return m;
}

Test(proto_msg, targets_bytes_and_back)
{
	static const char want[] =
		"{\"v\":1,\"t\":\"targets\",\"j\":[{\"c\":3},{\"s\":2},{\"s\":0},{}],\"end_in\":12.5}";
	proto_target j[4] = { { 3, -1 }, { -1, 2 }, { -1, 0 }, { -1, -1 } }, back[5];
	proto_targets t = { .j = j, .nj = 4, .has_end_in = 1, .end_in = 12.5 };
	proto_targets d = { .j = back, .nj = 5 };
	char *s = wire(proto_targets_encode(&t));
	cJSON *m;

	cr_assert_str_eq(s, want);
	m = parse(s);
	cr_assert_eq(proto_targets_decode(m, &d), 0);
	cr_assert_eq(d.given, 4);
	cr_assert(d.has_end_in);
	cr_assert_float_eq(d.end_in, 12.5, 0);
	cr_assert_float_eq(d.j[0].closed, 3, 0);
	cr_assert_float_eq(d.j[1].starts, 2, 0);
	cr_assert_lt(d.j[1].closed, 0);
	cr_assert_lt(d.j[2].starts, 0, "0 starts is nothing to start");
	cr_assert_lt(d.j[3].closed, 0);
	cr_assert_lt(d.j[4].closed, 0, "a journey the message does not name is none");
	cJSON_Delete(m);
	cJSON_free(s);
	/* Without end_in, and with no journeys. */
	t.has_end_in = 0;
	t.nj = 0;
	s = wire(proto_targets_encode(&t));
	cr_assert_str_eq(s, "{\"v\":1,\"t\":\"targets\",\"j\":[]}");
	cJSON_free(s);
}

Test(proto_msg, targets_malformed_fields_read_as_none)
{
	proto_target back[3];
	proto_targets d = { .j = back, .nj = 3 };
	cJSON *m = parse(
		"{\"v\":1,\"t\":\"targets\",\"j\":[{\"c\":-1},{\"s\":\"9\"},{\"c\":\"x\",\"s\":0.5}],"
		"\"end_in\":\"soon\"}");

	cr_assert_eq(proto_targets_decode(m, &d), 0);
	cr_assert_not(d.has_end_in);
	for (int i = 0; i < 3; i++) {
		cr_assert_lt(d.j[i].closed, 0, "journey %d", i);
		cr_assert_lt(d.j[i].starts, 0, "journey %d", i);
	}
	cJSON_Delete(m);
	m = parse("{\"v\":1,\"t\":\"targets\",\"j\":{}}");
	cr_assert_eq(proto_targets_decode(m, &d), -EPROTO);
	cJSON_Delete(m);
}

Test(proto_msg, rows_bytes_and_back)
{
	static const char want[] =
		"{\"v\":1,\"t\":\"rows\",\"rows\":[[7,\"a\",\"bc\"],[8]],\"j\":1,\"end\":true}";
	char *v[] = { "a", "bc" };
	cJSON *m = proto_rows_new(1), *row;
	const char *vals[4];
	proto_rows pr;
	uint64_t id;
	size_t n;
	char err[128], *s;

	cr_assert_eq(proto_rows_add(m, 7, v, 2), 3, "the bytes of the values");
	cr_assert_eq(proto_rows_add(m, 8, NULL, 0), 0);
	proto_rows_end(m);
	s = wire(m);
	cr_assert_str_eq(s, want);
	m = parse(s);
	cr_assert_eq(proto_rows_decode(m, 2, &pr), 0);
	cr_assert_eq(pr.j, 1);
	cr_assert(pr.end);
	row = pr.rows->child;
	cr_assert_eq(proto_row_decode(row, &id, vals, 4, &n, err, sizeof err), 0, "%s", err);
	cr_assert_eq(id, 7);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(vals[1], "bc");
	cr_assert_eq(proto_row_decode(row->next, &id, vals, 4, &n, err, sizeof err), 0);
	cr_assert_eq(n, 0);
	/* More values than the caller takes: refused, never cut. */
	cr_assert_eq(proto_row_decode(row, &id, vals, 1, &n, err, sizeof err), -EPROTO);
	cr_assert_str_eq(err, "row 7: 2 columns or more (at most 1)");
	/* A journey out of range. */
	cr_assert_eq(proto_rows_decode(m, 1, &pr), -EPROTO);
	cJSON_Delete(m);
	cJSON_free(s);
	/* Without "end". */
	s = wire(proto_rows_new(0));
	cr_assert_str_eq(s, "{\"v\":1,\"t\":\"rows\",\"rows\":[],\"j\":0}");
	cJSON_free(s);
}

Test(proto_msg, bad_rows_are_named)
{
	const char *vals[4];
	uint64_t id;
	size_t n;
	char err[128];
	cJSON *a = cJSON_Parse("[[\"x\",\"a\"],[3,\"a\",4],[]]");

	cr_assert_eq(proto_row_decode(a->child, &id, vals, 4, &n, err, sizeof err), -EPROTO);
	cr_assert_str_eq(err, "a row without a row id");
	cr_assert_eq(proto_row_decode(a->child->next, &id, vals, 4, &n, err, sizeof err), -EPROTO);
	cr_assert_str_eq(err, "row 3: column 2 is not a string");
	cr_assert_eq(proto_row_decode(a->child->next->next, &id, vals, 4, &n, err, sizeof err),
		     -EPROTO);
	cJSON_Delete(a);
}

Test(proto_msg, stats_bytes_and_back)
{
	static const char want[] =
		"{\"v\":1,\"t\":\"stats\",\"e\":[],\"active\":[1,2],\"peak\":[3,2],"
		"\"ev\":[{\"type\":\"note\"}],\"dropped\":4,\"why\":[null,\"instance bound\"],"
		"\"final\":true,\"journey\":\"web\"}";
	long active[] = { 1, 2 }, peak[] = { 3, 2 }, a2[3], p2[3];
	const char *why[] = { NULL, "instance bound" };
	proto_stats_out o = { .batch = cJSON_CreateArray(),
			      .active = active,
			      .peak = peak,
			      .why = why,
			      .nj = 2,
			      .events = cJSON_Parse("[{\"type\":\"note\"}]"),
			      .dropped = 4,
			      .final = 1,
			      .journey = "web" };
	proto_stats_in in;
	char *s = wire(proto_stats_encode(&o));
	cJSON *m;

	cr_assert_str_eq(s, want);
	m = parse(s);
	proto_stats_decode(m, 3, 1000, a2, p2, &in);
	cr_assert_eq(a2[0], 1);
	cr_assert_eq(a2[1], 2);
	cr_assert_eq(a2[2], -1, "a journey the message does not name");
	cr_assert_eq(p2[0], 3);
	cr_assert_eq(in.dropped, 4);
	cr_assert(in.final);
	cr_assert(cJSON_IsArray(in.batch));
	cr_assert_eq(cJSON_GetArraySize(in.events), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(in.why, 1)->valuestring, "instance bound");
	cJSON_Delete(m);
	cJSON_free(s);
}

Test(proto_msg, stats_minimal_and_malformed)
{
	long active[] = { 0 }, peak[] = { 0 }, a2[2], p2[2];
	const char *why[] = { NULL };
	proto_stats_out o = { .active = active, .peak = peak, .why = why, .nj = 1 };
	proto_stats_in in;
	char *s = wire(proto_stats_encode(&o));
	cJSON *m;

	cr_assert_str_eq(s, "{\"v\":1,\"t\":\"stats\",\"active\":[0],\"peak\":[0],\"why\":[null]}");
	cJSON_free(s);
	m = parse(
		"{\"v\":1,\"t\":\"stats\",\"active\":[-1,5000],\"peak\":[\"3\",1e300],\"dropped\":-2}");
	proto_stats_decode(m, 2, 1000, a2, p2, &in);
	cr_assert_eq(a2[0], -1, "negative");
	cr_assert_eq(a2[1], -1, "over the bound");
	cr_assert_eq(p2[0], -1, "a string");
	cr_assert_eq(p2[1], -1);
	cr_assert_eq(in.dropped, 0);
	cr_assert_null(in.batch);
	cr_assert_not(in.final);
	cJSON_Delete(m);
}
