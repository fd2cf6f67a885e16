/*
 * Evenly paced HTTP/1.1 load for the bench's latency runs (driven by bench/lib/paced.ts).
 *
 * Request i is due at start + i / rate, whether or not earlier ones have answered (open loop), and its
 * latency is measured from that due time, so a stall of the server counts against every request it
 * delayed. A timerfd wakes the loop at each due time to the nanosecond; Node's timers have a 1 ms
 * granularity and the generator's own collections, which on a 2-core machine put 3 to 5 ms into the p99
 * of a server that does nothing at all. This one adds well under 1 ms there.
 *
 * It sends one prebuilt request (read from stdin) over a fixed number of keep-alive connections, at most
 * one request in flight per connection, and reads status lines and Content-Length only.
 *
 * An optional WARMUP (seconds) paces requests the same way on the same connections before the measured
 * SECONDS: they are sent and answered but not recorded. New connections and the first moments of a run
 * are not what a proxy holding keep-alive connections to a running server sees.
 *
 * usage: paced-generator HOST PORT RATE SECONDS CONNECTIONS EXPECT_STATUS NICE [WARMUP] < request-head
 * prints one JSON object with the figures of a PacedRun (see paced.ts).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST 65536
#define RESPONSE_BUFFER 16384
#define START_DELAY_NS 100000000LL
/* Requests still unanswered this long after the last one fell due count as failed. */
#define GRACE_NS 30000000000LL
#define TIMER_TAG UINT32_MAX

typedef struct {
  int fd;
  int busy;
  int64_t due;
  int64_t sent;
  long index;
  size_t len;
  char buf[RESPONSE_BUFFER];
} connection;

static struct sockaddr_in address;
static char request[MAX_REQUEST];
static size_t request_len;
static int epoll_fd;
static connection *connections;
static int *idle;
static int idle_count;
static int64_t *latencies, *services;
static long finished, completed, failed;
/* Requests with a lower index are the warm-up's: answered, not recorded. */
static long warm_count, warm_finished;
static int expect_status;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static int open_connection(int index) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* A blocking connect: the target is local (paced.ts refuses any other), so it takes microseconds. */
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
    close(fd);
    return -1;
  }
  struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    close(fd);
    return -1;
  }
  connections[index] = (connection){.fd = fd};
  idle[idle_count++] = index;
  return 0;
}

static void record(connection *c, int ok) {
  int64_t now = now_ns();
  c->busy = 0;
  c->len = 0;
  if (c->index < warm_count) {
    warm_finished += 1;
    return;
  }
  latencies[finished] = now - c->due;
  services[finished] = now - c->sent;
  finished += 1;
  if (ok) completed += 1; else failed += 1;
}

/* A connection the server closed or broke: its request (if any) failed; a new one takes its place. */
static void replace(int index) {
  connection *c = &connections[index];
  if (c->busy) record(c, 0);
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  for (int i = 0; i < idle_count; i += 1) {
    if (idle[i] == index) idle[i] = idle[--idle_count];
  }
  open_connection(index);
}

static int send_request(int index, long request_index, int64_t due) {
  connection *c = &connections[index];
  c->busy = 1;
  c->index = request_index;
  c->due = due;
  c->len = 0;
  c->sent = now_ns();
  size_t written = 0;
  while (written < request_len) {
    ssize_t n = write(c->fd, request + written, request_len - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1; /* a small request on an idle socket never meets a full buffer */
    written += (size_t)n;
  }
  return 0;
}

/* The length of the first complete response in buf, 0 while it is incomplete, -1 if it is not HTTP. */
static long response_length(connection *c, int *status) {
  c->buf[c->len] = '\0';
  char *end = strstr(c->buf, "\r\n\r\n");
  if (end == NULL) return c->len >= RESPONSE_BUFFER - 1 ? -1 : 0;
  if (c->len < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) return -1;
  *status = atoi(c->buf + 9);
  long body = 0;
  for (char *line = strstr(c->buf, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "content-length:", 15) == 0) body = strtol(line + 17, NULL, 10);
  }
  long length = (long)(end - c->buf) + 4 + body;
  if (length >= RESPONSE_BUFFER) return -1;
  return (long)c->len >= length ? length : 0;
}

/* Reads what arrived; a complete response is recorded and its connection is idle again. */
static void on_readable(int index) {
  connection *c = &connections[index];
  for (;;) {
    ssize_t n = read(c->fd, c->buf + c->len, RESPONSE_BUFFER - 1 - c->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      replace(index);
      return;
    }
    c->len += (size_t)n;
    int status = 0;
    long length = response_length(c, &status);
    if (length < 0) {
      replace(index);
      return;
    }
    if (length > 0) {
      if (!c->busy) { /* an answer nobody asked for */
        replace(index);
        return;
      }
      record(c, status == expect_status);
      idle[idle_count++] = index;
      return;
    }
  }
}

static int compare(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static double quantile_ms(int64_t *values, long count, double q) {
  if (count == 0) return 0;
  long at = (long)(q * (double)count);
  if (at > count - 1) at = count - 1;
  return (double)values[at] / 1e6;
}

static void read_request(void) {
  size_t n;
  while ((n = fread(request + request_len, 1, MAX_REQUEST - request_len, stdin)) > 0) request_len += n;
  if (request_len == 0 || request_len == MAX_REQUEST) {
    fprintf(stderr, "paced-generator: the request head on stdin is empty or too long\n");
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9) {
    fprintf(stderr, "usage: paced-generator HOST PORT RATE SECONDS CONNECTIONS EXPECT_STATUS NICE [WARMUP] < request-head\n");
    return 2;
  }
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  int count = atoi(argv[5]);
  expect_status = atoi(argv[6]);
  double warmup = argc == 9 ? atof(argv[8]) : 0;
  long total = (long)(rate * seconds);
  warm_count = (long)(rate * warmup);
  if (rate <= 0 || seconds <= 0 || count <= 0 || total <= 0 || warmup < 0) {
    fprintf(stderr, "paced-generator: rate, seconds and connections must be positive, warm-up not negative\n");
    return 2;
  }
  address.sin_family = AF_INET;
  address.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
    fprintf(stderr, "paced-generator: HOST must be an IPv4 address\n");
    return 2;
  }
  read_request();
  /*
   * A client calling /authz runs on its own host; here it shares two cores with the servers it measures,
   * and a generator waiting for a core counts its own wait as the server's. It asks for real-time
   * scheduling (SCHED_FIFO: it runs as soon as its timer or a socket wakes it; it never spins, so it takes
   * only the little CPU it uses), else for the raised nice value.
   */
  struct sched_param realtime_priority = {.sched_priority = 10};
  int realtime = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &realtime_priority) == 0;
  int prioritised = realtime || setpriority(PRIO_PROCESS, 0, atoi(argv[7])) == 0;

  epoll_fd = epoll_create1(0);
  int timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  if (epoll_fd < 0 || timer_fd < 0) die("epoll/timerfd");
  struct epoll_event timer_event = {.events = EPOLLIN, .data.u32 = TIMER_TAG};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &timer_event) != 0) die("epoll_ctl");
  connections = calloc((size_t)count, sizeof(connection));
  idle = calloc((size_t)count, sizeof(int));
  latencies = calloc((size_t)total, sizeof(int64_t));
  services = calloc((size_t)total, sizeof(int64_t));
  if (!connections || !idle || !latencies || !services) die("calloc");
  for (int i = 0; i < count; i += 1) {
    if (open_connection(i) != 0) die("connect");
  }

  double interval = 1e9 / rate;
  int64_t start = now_ns() + START_DELAY_NS;
  long all = warm_count + total;
  int64_t give_up = start + (int64_t)((warmup + seconds) * 1e9) + GRACE_NS;
  long due_so_far = 0, dispatched = 0;
  struct epoll_event events[64];
  while (finished < total) {
    int64_t now = now_ns();
    if (now > give_up) break;
    while (due_so_far < all && start + (int64_t)(due_so_far * interval) <= now) due_so_far += 1;
    /* Requests that fell due go out on idle connections, oldest first; the rest wait, and that wait counts. */
    while (dispatched < due_so_far && idle_count > 0) {
      int index = idle[--idle_count];
      int64_t due = start + (int64_t)(dispatched * interval);
      dispatched += 1;
      if (send_request(index, dispatched - 1, due) != 0) replace(index);
    }
    if (due_so_far < all) {
      int64_t next = start + (int64_t)(due_so_far * interval);
      struct itimerspec at = {.it_value = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL}};
      timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &at, NULL);
    }
    int ready = epoll_wait(epoll_fd, events, 64, 100);
    if (ready < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < ready; i += 1) {
      if (events[i].data.u32 == TIMER_TAG) {
        uint64_t expirations;
        if (read(timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("timerfd read");
      } else {
        on_readable((int)events[i].data.u32);
      }
    }
    int alive = 0;
    for (int i = 0; i < count; i += 1) alive += connections[i].fd >= 0;
    if (alive == 0) break;
  }
  long recorded = finished;
  failed += total - finished; /* never answered: past the grace time, or no connection left */
  qsort(latencies, (size_t)recorded, sizeof(int64_t), compare);
  qsort(services, (size_t)recorded, sizeof(int64_t), compare);
  printf("{\"rate\":%.6g,\"seconds\":%.6g,\"sent\":%ld,\"completed\":%ld,\"failed\":%ld,\"prioritised\":%s,\"realtime\":%s,"
         "\"latencyP50Ms\":%.4f,\"latencyP99Ms\":%.4f,\"latencyMaxMs\":%.4f,\"serviceP99Ms\":%.4f}\n",
         rate, seconds, total, completed, failed, prioritised ? "true" : "false", realtime ? "true" : "false",
         quantile_ms(latencies, recorded, 0.5), quantile_ms(latencies, recorded, 0.99),
         quantile_ms(latencies, recorded, 1.0), quantile_ms(services, recorded, 0.99));
  return 0;
}
