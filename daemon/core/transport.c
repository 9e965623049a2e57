/*
 * transport.c - the in-process transport: two endpoints on one loop. A send
 * queues a copy on the peer and wakes it with uv_async, so delivery always
 * happens from the loop, never inside send() (the two sides may call each
 * other's handlers otherwise, which neither expects).
 */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct pmsg {
	struct pmsg *next;
	size_t len;
	char data[];
} pmsg;

typedef struct pend {
	transport base;
	uv_async_t async;
	pmsg *head, *tail;
	struct pend *peer;
	int closed;
} pend;

static void pend_drain(uv_async_t *a)
{
	pend *p = a->data;

	/* Take the queue first: a receive handler may send (and so append)
	 * or close this endpoint. */
	while (p->head && !p->closed) {
		pmsg *m = p->head;

		p->head = m->next;
		if (!p->head)
			p->tail = NULL;
		if (p->base.on_recv)
			p->base.on_recv(&p->base, m->data, m->len, p->base.data);
		free(m);
	}
}

static int pend_send(transport *t, const char *msg, size_t len)
{
	pend *p = (pend *)t, *q = p->peer;
	pmsg *m;

	if (p->closed || !q || q->closed)
		return -EPIPE;
	m = malloc(sizeof *m + len + 1);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->data, msg, len);
	m->data[len] = '\0';
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	uv_async_send(&q->async);
	return 0;
}

static void pend_free_queue(pend *p)
{
	while (p->head) {
		pmsg *m = p->head;

		p->head = m->next;
		free(m);
	}
	p->tail = NULL;
}

static void pend_closed(uv_handle_t *h)
{
	free(h->data);
}

static void pend_close(transport *t)
{
	pend *p = (pend *)t;

	if (p->closed)
		return;
	p->closed = 1;
	if (p->peer)
		p->peer->peer = NULL;
	p->peer = NULL;
	pend_free_queue(p);
	uv_close((uv_handle_t *)&p->async, pend_closed);
}

static const struct transport_ops pend_ops = {
	.send = pend_send,
	.close = pend_close,
};

int transport_pair(uv_loop_t *loop, transport **a, transport **b)
{
	pend *x = calloc(1, sizeof *x), *y = calloc(1, sizeof *y);

	if (!x || !y) {
		free(x);
		free(y);
		return -ENOMEM;
	}
	x->base.ops = y->base.ops = &pend_ops;
	x->peer = y;
	y->peer = x;
	x->async.data = x;
	y->async.data = y;
	uv_async_init(loop, &x->async, pend_drain);
	uv_async_init(loop, &y->async, pend_drain);
	*a = &x->base;
	*b = &y->base;
	return 0;
}
