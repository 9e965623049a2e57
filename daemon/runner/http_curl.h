/*
 * http_curl.h - libcurl's multi-socket interface driven by the runner's
 * libuv loop, for the HTTP engine's libcurl requests (runner/http_easy.c
 * makes them).
 *
 * One CURLM per engine: libcurl tells us (CURLMOPT_SOCKETFUNCTION) which
 * fds to watch, we keep one uv_poll per fd and hand readiness back with
 * curl_multi_socket_action; its single timeout (CURLMOPT_TIMERFUNCTION)
 * is one uv_timer. After every socket_action we drain curl_multi_info_read
 * and wake the instance whose transfer finished.
 */
#ifndef MITE_RUNNER_HTTP_CURL_H
#define MITE_RUNNER_HTTP_CURL_H

#include "runner/http_int.h"

/* Makes e's multi and its timer, and reads what libcurl and the
 * environment say (its TLS library, proxy variables). 0, or -1. */
int http_curl_init(http_engine *e);
/* Cleans the multi up (its cached connections close), stops watching every
 * socket and closes the timer: each closed handle calls e->closed_one. */
void http_curl_close(http_engine *e);

/* CURLOPT_OPENSOCKETFUNCTION and CURLOPT_CLOSESOCKETFUNCTION (their data:
 * the engine): a connection socket is watched from its open to its
 * close. */
curl_socket_t http_curl_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a);
int http_curl_close_socket(void *clientp, curl_socket_t fd);

#endif
