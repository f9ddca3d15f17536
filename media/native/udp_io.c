/*
 * Batched UDP I/O for the media relay (N-API, Linux). One I/O context per JS thread (relay worker):
 *   - every socket is watched by the thread's own libuv loop (a uv_poll per socket: libuv's single epoll_wait
 *     reports all ready sockets of a wake-up, no second epoll of ours);
 *   - a readable socket gets one recvmmsg into the free slots of ONE shared ArrayBuffer (fewer datagrams than
 *     asked = drained: no EAGAIN round trip), metadata in an Int32Array; in the loop's check phase — after all
 *     sockets of that wake-up were read — ONE call into JS with the packet count (all sockets' packets in one JS
 *     entry; earlier only when the arena is full);
 *   - sends made by JS are entries of a shared out-queue (socket id, destination as numbers, bytes either in the
 *     receive arena — the received packet rewritten in place — or in an out slot), flushed here with
 *     sendmmsg/sendmsg after the JS call returns, or at once when JS calls flush() (timer-driven sends).
 * Nothing is allocated per packet, no address string is made: sources and destinations are numbers.
 *
 * Shared layout (constants exported as `layout`):
 *   in        IN_SLOTS × SLOT bytes         received datagram i at i × SLOT
 *   inMeta    Int32 × IN_SLOTS × IN_STRIDE  [socket id, length (0 = truncated), source port, family 4|6, w0..w3]
 *                                           (IPv4: w0 = address as a host-order u32; IPv6: w0..w3 host-order words)
 *   out       OUT_SLOTS × SLOT bytes        copy area: entry i may use slot i
 *   outMeta   Int32 × OUT_SLOTS × OUT_STRIDE [socket id, arena (0 in, 1 out), byte offset, length, port, family, w0..w3]
 *   ctl       Int32 × 4                     [0] = queued out entries (JS appends, flush resets to 0)
 *   errs      Uint32 × MAX_SOCKS            send errors per socket id (reset when the id is reused)
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>

#define SLOT 4096
#define RECV_MAX (SLOT - 128) /* room after the packet for an SRTP/SRTCP tag added in place */
#define IN_SLOTS 256
#define IN_STRIDE 8
#define OUT_SLOTS 256
#define OUT_STRIDE 10
#define MAX_SOCKS 65536
#define PER_SOCKET 64 /* datagrams per recvmmsg: a busy socket cannot starve the others */
#define MAX_ROUNDS 8  /* batches per wake-up; the epoll fd is level-triggered, the loop comes back for the rest */

typedef struct io_ctx io_ctx;
typedef struct sock_poll {
  uv_poll_t poll;
  io_ctx *c;
  int id;
} sock_poll;

struct io_ctx {
  napi_env env;
  uv_check_t check;
  int count; /* packets in the arena, not yet handed to JS */
  int open_count;
  int in_dispatch;
  napi_async_cleanup_hook_handle cleanup;
  uint8_t *in;
  int32_t *in_meta;
  uint8_t *out;
  int32_t *out_meta;
  int32_t *ctl;
  uint32_t *errs;
  napi_ref refs[6];
  napi_ref cb;
  napi_async_context actx;
  int fds[MAX_SOCKS];
  sock_poll *polls[MAX_SOCKS];
  uint8_t fams[MAX_SOCKS];
  int free_ids[MAX_SOCKS];
  int nfree;
  int next_id;
  struct mmsghdr rmsg[IN_SLOTS];
  struct iovec riov[IN_SLOTS];
  struct sockaddr_in6 raddr[IN_SLOTS];
  struct mmsghdr smsg[OUT_SLOTS];
  struct iovec siov[OUT_SLOTS];
  struct sockaddr_in6 saddr[OUT_SLOTS];
};

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "DPBX_ERR_RELAY_IO", "napi call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static io_ctx *get_ctx(napi_env env) {
  void *d = NULL;
  napi_get_instance_data(env, &d);
  return (io_ctx *)d;
}

static int32_t num_arg(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

/* ---------------------------------------------------------------------------------------------------------------
 * send side
 * ------------------------------------------------------------------------------------------------------------- */

/* Destination of out entry e as a sockaddr for a socket of family sfam (IPv4 destinations of an IPv6 socket are
 * v4-mapped). Returns the sockaddr length, 0 when impossible. */
static socklen_t dest_addr(int sfam, const int32_t *m, struct sockaddr_in6 *sa) {
  int port = m[4], fam = m[5];
  memset(sa, 0, sizeof(*sa));
  if (port <= 0 || port > 65535) return 0;
  if (sfam == AF_INET) {
    if (fam != 4) return 0;
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    s4->sin_addr.s_addr = htonl((uint32_t)m[6]);
    return sizeof(struct sockaddr_in);
  }
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons((uint16_t)port);
  uint32_t w[4];
  if (fam == 4) {
    w[0] = 0; w[1] = 0; w[2] = htonl(0xffff); w[3] = htonl((uint32_t)m[6]);
  } else if (fam == 6) {
    for (int k = 0; k < 4; k++) w[k] = htonl((uint32_t)m[6 + k]);
  } else {
    return 0;
  }
  memcpy(&sa->sin6_addr, w, 16);
  return sizeof(struct sockaddr_in6);
}

/* Sends every queued entry: consecutive entries of one socket in one sendmmsg, a lone entry with sendmsg. */
static int flush_out(io_ctx *c) {
  int n = c->ctl[0];
  int sent = 0;
  if (n < 0 || n > OUT_SLOTS) n = 0;
  int i = 0;
  while (i < n) {
    const int32_t *m = c->out_meta + i * OUT_STRIDE;
    int id = m[0];
    int j = i;
    int k = 0; /* prepared messages of this group */
    int fd = (id >= 0 && id < MAX_SOCKS) ? c->fds[id] : -1;
    /* group: entries i..j-1 share the socket */
    while (j < n && c->out_meta[j * OUT_STRIDE] == id) j++;
    if (fd < 0) { i = j; continue; } /* closed meanwhile: nothing to count against */
    for (int e = i; e < j; e++) {
      const int32_t *q = c->out_meta + e * OUT_STRIDE;
      int arena = q[1], off = q[2], len = q[3];
      uint8_t *base = arena == 0 ? c->in : c->out;
      size_t size = arena == 0 ? (size_t)IN_SLOTS * SLOT : (size_t)OUT_SLOTS * SLOT;
      socklen_t alen = dest_addr(c->fams[id] == 6 ? AF_INET6 : AF_INET, q, &c->saddr[k]);
      if (off < 0 || len <= 0 || (size_t)off + (size_t)len > size || alen == 0) {
        c->errs[id]++;
        continue;
      }
      c->siov[k].iov_base = base + off;
      c->siov[k].iov_len = (size_t)len;
      memset(&c->smsg[k], 0, sizeof(c->smsg[k]));
      c->smsg[k].msg_hdr.msg_name = &c->saddr[k];
      c->smsg[k].msg_hdr.msg_namelen = alen;
      c->smsg[k].msg_hdr.msg_iov = &c->siov[k];
      c->smsg[k].msg_hdr.msg_iovlen = 1;
      k++;
    }
    int p = 0;
    while (p < k) {
      int r;
      if (k - p == 1) {
        r = sendmsg(fd, &c->smsg[p].msg_hdr, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 ? 1 : -1;
      } else {
        r = sendmmsg(fd, &c->smsg[p], (unsigned)(k - p), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      if (r < 0) {
        if (errno == EINTR) continue;
        c->errs[id]++; /* the first message of the rest failed: count it, go on with the next */
        p++;
      } else {
        sent += r;
        p += r;
      }
    }
    i = j;
  }
  c->ctl[0] = 0;
  return sent;
}

/* ---------------------------------------------------------------------------------------------------------------
 * receive side
 * ------------------------------------------------------------------------------------------------------------- */

static void call_js(io_ctx *c, int count) {
  napi_env env = c->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[1], result;
  if (napi_get_reference_value(env, c->cb, &cb) == napi_ok && cb != NULL) {
    napi_get_global(env, &recv);
    napi_create_int32(env, count, &argv[0]);
    c->in_dispatch = 1;
    napi_status st = napi_make_callback(env, c->actx, recv, cb, 1, argv, &result);
    c->in_dispatch = 0;
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err); /* like an exception in a dgram 'message' listener */
    }
  }
  napi_close_handle_scope(env, scope);
}

static void fill_meta(io_ctx *c, int slot, int id, const struct mmsghdr *mh) {
  int32_t *m = c->in_meta + slot * IN_STRIDE;
  const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)mh->msg_hdr.msg_name;
  m[0] = id;
  m[1] = (mh->msg_hdr.msg_flags & MSG_TRUNC) ? 0 : (int32_t)mh->msg_len;
  m[4] = m[5] = m[6] = m[7] = 0;
  if (sa->sin6_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    m[2] = ntohs(s4->sin_port);
    m[3] = 4;
    m[4] = (int32_t)ntohl(s4->sin_addr.s_addr);
  } else if (sa->sin6_family == AF_INET6) {
    uint32_t w[4];
    memcpy(w, &sa->sin6_addr, 16);
    m[2] = ntohs(sa->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr)) { /* a dual-stack socket's IPv4 peer counts as IPv4 */
      m[3] = 4;
      m[4] = (int32_t)ntohl(w[3]);
    } else {
      m[3] = 6;
      for (int k = 0; k < 4; k++) m[4 + k] = (int32_t)ntohl(w[k]);
    }
  } else {
    m[2] = 0;
    m[3] = 0;
  }
}

/* Hands the packets gathered so far to JS (one call) and sends what JS queued. */
static void dispatch(io_ctx *c) {
  int count = c->count;
  if (count == 0) return;
  c->count = 0;
  call_js(c, count);
  flush_out(c);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  sock_poll *sp = (sock_poll *)h->data;
  io_ctx *c = sp->c;
  int id = sp->id;
  (void)events;
  if (status < 0) return;
  for (int round = 0; round < MAX_ROUNDS && c->fds[id] >= 0; round++) {
    if (c->count >= IN_SLOTS) dispatch(c); /* arena full: JS now, then go on reading */
    int room = IN_SLOTS - c->count;
    if (room > PER_SOCKET) room = PER_SOCKET;
    int base = c->count;
    /* the headers of every slot were set up once (init_slots); the kernel changes only msg_namelen, msg_flags
     * and msg_len of the slots it filled, restored below */
    int r = recvmmsg(c->fds[id], &c->rmsg[base], (unsigned)room, MSG_DONTWAIT, NULL);
    if (r <= 0) return; /* EAGAIN, or a queued ICMP error: nothing to relay */
    for (int k = 0; k < r; k++) {
      fill_meta(c, base + k, id, &c->rmsg[base + k]);
      c->rmsg[base + k].msg_hdr.msg_namelen = sizeof(c->raddr[0]);
    }
    c->count += r;
    if (r < room) return; /* drained */
  }
  /* still more after MAX_ROUNDS × PER_SOCKET: level-triggered, libuv comes back in the next iteration */
}

static void init_slots(io_ctx *c) {
  for (int s = 0; s < IN_SLOTS; s++) {
    c->riov[s].iov_base = c->in + (size_t)s * SLOT;
    c->riov[s].iov_len = RECV_MAX;
    memset(&c->rmsg[s], 0, sizeof(c->rmsg[s]));
    c->rmsg[s].msg_hdr.msg_name = &c->raddr[s];
    c->rmsg[s].msg_hdr.msg_namelen = sizeof(c->raddr[s]);
    c->rmsg[s].msg_hdr.msg_iov = &c->riov[s];
    c->rmsg[s].msg_hdr.msg_iovlen = 1;
  }
}

static void on_check(uv_check_t *h) {
  dispatch((io_ctx *)h->data);
}

/* ---------------------------------------------------------------------------------------------------------------
 * JS API
 * ------------------------------------------------------------------------------------------------------------- */

static void free_poll(uv_handle_t *h) {
  free(h->data);
}

/* Stops watching socket id and closes it (the poll handle is freed by libuv's close callback). */
static void close_sock(io_ctx *c, int id) {
  sock_poll *sp = c->polls[id];
  if (sp != NULL) {
    uv_poll_stop(&sp->poll); /* removes the fd from libuv's epoll before it is closed */
    uv_close((uv_handle_t *)&sp->poll, free_poll);
    c->polls[id] = NULL;
  }
  close(c->fds[id]);
  c->fds[id] = -1;
}

/* open(address, port, family 4|6, bufferBytes) → socket id ≥ 0, or -errno */
static napi_value js_open(napi_env env, napi_callback_info info) {
  io_ctx *c = get_ctx(env);
  size_t argc = 4;
  napi_value argv[4], res;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (c == NULL || argc < 3) { napi_create_int32(env, -EINVAL, &res); return res; }
  char addr[64];
  size_t alen = 0;
  if (napi_get_value_string_utf8(env, argv[0], addr, sizeof(addr), &alen) != napi_ok) { napi_create_int32(env, -EINVAL, &res); return res; }
  int port = num_arg(env, argv[1]);
  int fam = num_arg(env, argv[2]);
  int bufbytes = argc > 3 ? num_arg(env, argv[3]) : 0;
  int err = 0;
  int id = -1;
  if (c->nfree > 0) id = c->free_ids[--c->nfree];
  else if (c->next_id < MAX_SOCKS) id = c->next_id++;
  if (id < 0) { napi_create_int32(env, -EMFILE, &res); return res; }
  int fd = socket(fam == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { err = errno; goto fail; }
  if (bufbytes > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufbytes, sizeof(bufbytes));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufbytes, sizeof(bufbytes));
  }
  if (fam == 6) {
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) { err = EINVAL; goto fail; }
    int off = 0; /* dual stack, like node:dgram's udp6 */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { err = errno; goto fail; }
  } else {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) { err = EINVAL; goto fail; }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { err = errno; goto fail; }
  }
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  sock_poll *sp = (sock_poll *)calloc(1, sizeof(sock_poll));
  if (sp == NULL) { err = ENOMEM; goto fail; }
  sp->c = c;
  sp->id = id;
  sp->poll.data = sp;
  if (uv_poll_init(loop, &sp->poll, fd) != 0) { free(sp); err = EINVAL; goto fail; }
  c->fds[id] = fd;
  c->fams[id] = fam == 6 ? 6 : 4;
  c->errs[id] = 0;
  c->polls[id] = sp;
  if (uv_poll_start(&sp->poll, UV_READABLE, on_readable) != 0) {
    c->fds[id] = -1;
    c->polls[id] = NULL;
    uv_close((uv_handle_t *)&sp->poll, free_poll);
    err = EINVAL;
    goto fail;
  }
  c->open_count++;
  napi_create_int32(env, id, &res);
  return res;
fail:
  if (fd >= 0) close(fd);
  c->free_ids[c->nfree++] = id;
  napi_create_int32(env, -err, &res);
  return res;
}

/* close(id) → 0, or -EBADF for an unknown id (idempotent for the caller) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  io_ctx *c = get_ctx(env);
  size_t argc = 1;
  napi_value argv[1], res;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int id = argc > 0 ? num_arg(env, argv[0]) : -1;
  if (c == NULL || id < 0 || id >= MAX_SOCKS || c->fds[id] < 0) { napi_create_int32(env, -EBADF, &res); return res; }
  close_sock(c, id);
  /* its packets still waiting for the check phase must not reach whoever gets this id next */
  for (int k = 0; k < c->count; k++) {
    if (c->in_meta[k * IN_STRIDE] == id) c->in_meta[k * IN_STRIDE] = -1;
  }
  c->free_ids[c->nfree++] = id;
  c->open_count--;
  napi_create_int32(env, 0, &res);
  return res;
}

/* flush() → datagrams sent (the queue is empty afterwards) */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  io_ctx *c = get_ctx(env);
  napi_value res;
  (void)info;
  napi_create_int32(env, c ? flush_out(c) : 0, &res);
  return res;
}

/* localPort(id) → the bound port (tests, port 0 binds) */
static napi_value js_local_port(napi_env env, napi_callback_info info) {
  io_ctx *c = get_ctx(env);
  size_t argc = 1;
  napi_value argv[1], res;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int id = argc > 0 ? num_arg(env, argv[0]) : -1;
  int port = -EBADF;
  if (c != NULL && id >= 0 && id < MAX_SOCKS && c->fds[id] >= 0) {
    struct sockaddr_in6 sa;
    socklen_t l = sizeof(sa);
    if (getsockname(c->fds[id], (struct sockaddr *)&sa, &l) == 0) port = ntohs(sa.sin6_port); /* same offset in _in */
    else port = -errno;
  }
  napi_create_int32(env, port, &res);
  return res;
}

static void on_check_closed(uv_handle_t *h) {
  io_ctx *c = (io_ctx *)h->data;
  napi_async_cleanup_hook_handle hook = c->cleanup;
  free(c);
  if (hook) napi_remove_async_cleanup_hook(hook);
}

/* Thread teardown (worker exit / process exit): close every socket and handle. The socket polls are closed
 * before the check handle, so their close callbacks (which free only themselves) run before the context goes. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  io_ctx *c = (io_ctx *)arg;
  c->cleanup = handle;
  for (int i = 0; i < c->next_id; i++) {
    if (c->fds[i] >= 0) close_sock(c, i);
  }
  c->count = 0;
  napi_delete_reference(c->env, c->cb);
  for (int i = 0; i < 6; i++) napi_delete_reference(c->env, c->refs[i]);
  napi_async_destroy(c->env, c->actx);
  uv_check_stop(&c->check);
  uv_close((uv_handle_t *)&c->check, on_check_closed);
}

static napi_value make_ab(napi_env env, size_t size, void **data, napi_ref *ref) {
  napi_value ab;
  if (napi_create_arraybuffer(env, size, data, &ab) != napi_ok) return NULL;
  memset(*data, 0, size);
  if (napi_create_reference(env, ab, 1, ref) != napi_ok) return NULL;
  return ab;
}

/* init(onPackets) → { in, inMeta, out, outMeta, ctl, errs } (ArrayBuffers); once per thread */
static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_ctx(env) != NULL) {
    napi_throw_error(env, "DPBX_ERR_RELAY_IO", "udp_io: already initialised in this thread");
    return NULL;
  }
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "DPBX_ERR_RELAY_IO", "udp_io.init(onPackets): a function is required");
    return NULL;
  }
  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  io_ctx *c = (io_ctx *)calloc(1, sizeof(io_ctx));
  if (c == NULL) { napi_throw_error(env, "DPBX_ERR_RELAY_IO", "udp_io: out of memory"); return NULL; }
  c->env = env;
  for (int i = 0; i < MAX_SOCKS; i++) c->fds[i] = -1;
  if (uv_check_init(loop, &c->check) != 0) {
    free(c);
    napi_throw_error(env, "DPBX_ERR_RELAY_IO", "udp_io: uv_check setup failed");
    return NULL;
  }
  c->check.data = c;
  uv_check_start(&c->check, on_check);
  uv_unref((uv_handle_t *)&c->check); /* only the sockets keep the loop alive, like dgram sockets */
  CHECK(napi_create_object(env, &obj));
  const char *names[6] = {"in", "inMeta", "out", "outMeta", "ctl", "errs"};
  size_t sizes[6] = {(size_t)IN_SLOTS * SLOT, IN_SLOTS * IN_STRIDE * 4, (size_t)OUT_SLOTS * SLOT, OUT_SLOTS * OUT_STRIDE * 4, 16, MAX_SOCKS * 4};
  void *ptrs[6];
  for (int i = 0; i < 6; i++) {
    napi_value ab = make_ab(env, sizes[i], &ptrs[i], &c->refs[i]);
    if (ab == NULL) { napi_throw_error(env, "DPBX_ERR_RELAY_IO", "udp_io: buffer allocation failed"); return NULL; }
    napi_set_named_property(env, obj, names[i], ab);
  }
  c->in = ptrs[0];
  c->in_meta = ptrs[1];
  c->out = ptrs[2];
  c->out_meta = ptrs[3];
  c->ctl = ptrs[4];
  c->errs = ptrs[5];
  init_slots(c);
  CHECK(napi_create_reference(env, argv[0], 1, &c->cb));
  napi_value rname;
  CHECK(napi_create_string_utf8(env, "dpbx:udp_io", NAPI_AUTO_LENGTH, &rname));
  CHECK(napi_async_init(env, NULL, rname, &c->actx));
  CHECK(napi_set_instance_data(env, c, NULL, NULL));
  CHECK(napi_add_async_cleanup_hook(env, on_env_cleanup, c, NULL));
  return obj;
}

static void set_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

NAPI_MODULE_INIT() {
  set_fn(env, exports, "init", js_init);
  set_fn(env, exports, "open", js_open);
  set_fn(env, exports, "close", js_close);
  set_fn(env, exports, "flush", js_flush);
  set_fn(env, exports, "localPort", js_local_port);
  napi_value layout, v;
  napi_create_object(env, &layout);
  const char *names[8] = {"SLOT", "RECV_MAX", "IN_SLOTS", "IN_STRIDE", "OUT_SLOTS", "OUT_STRIDE", "MAX_SOCKS", "PER_SOCKET"};
  int vals[8] = {SLOT, RECV_MAX, IN_SLOTS, IN_STRIDE, OUT_SLOTS, OUT_STRIDE, MAX_SOCKS, PER_SOCKET};
  for (int i = 0; i < 8; i++) {
    napi_create_int32(env, vals[i], &v);
    napi_set_named_property(env, layout, names[i], v);
  }
  napi_set_named_property(env, exports, "layout", layout);
  return exports;
}
