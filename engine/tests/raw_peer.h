/*
 * raw_peer.h - a hand-made player on a raw socket, for the engine's tests:
 * it dials an engine listening on the loopback and completes the HELLO
 * handshake (its DIAL, the engine's ANSWER, its CONFIRM proving the
 * world's token), after which the test writes frames of its own choosing
 * on a link the engine trusts. Also the plain loopback sockets the tests
 * listen and dial with.
 */
#ifndef CICADA_TESTS_RAW_PEER_H
#define CICADA_TESTS_RAW_PEER_H

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/control.h"
#include "core/wire.h"
#include "net/auth.h"
#include "net/net.h"

/* A socket listening on the loopback, on a port the kernel picks (written
 * to port). Exits on failure. */
static inline int raw_peer_listen(uint16_t *port) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
    perror("listen");
    exit(1);
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* A socket connected to the loopback port. Exits on a failed connect. */
static inline int raw_peer_connect(uint16_t port) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    exit(1);
  }
  return fd;
}

/* The settings of player 0, the engine under test, whose world's other
 * players are raw peers: it listens on lfd and takes frames of up to
 * max_frame_bytes. Raw peers send heartbeats only when a test writes
 * them, so silence is judged after a minute only. */
static inline void raw_peer_engine_settings(cc_settings *s, int world_size, uint64_t token,
                                            int lfd, const char **hosts, uint16_t *ports,
                                            uint32_t max_frame_bytes) {
  cc_settings_default(s);
  s->rank = 0;
  s->world_size = world_size;
  s->token = token;
  s->listen_fd = lfd;
  s->peer_hosts = hosts;
  s->peer_ports = ports;
  s->max_frame_bytes = max_frame_bytes;
  s->heartbeat_timeout_s = 60;
}

/* Writes a HELLO frame from player rank carrying h: 0, or -1. */
static inline int raw_peer_send_hello(int fd, int rank, const cc_hello *h) {
  uint8_t frame[CC_FRAME_HEADER_BYTES + CC_HELLO_BYTES];
  cc_frame_header fh = {CC_WIRE_VERSION, CC_FRAME_HELLO, 0, 0, 0, (uint32_t)rank, CC_HELLO_BYTES};
  cc_frame_pack(&fh, frame);
  cc_hello_pack(h, frame + CC_FRAME_HEADER_BYTES);
  const uint8_t *b = frame;
  size_t len = sizeof frame;
  while (len > 0) {
    ssize_t w = write(fd, b, len);
    if (w <= 0) return -1;
    b += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Player rank of a world of world_size players connects to the engine on
 * the loopback port and sends its DIAL, with a nonce made from its rank
 * (written to nonce). Returns the socket; exits on a failed connect. */
static inline int raw_peer_dial(uint16_t port, uint32_t world_size, int rank,
                                uint8_t nonce[CC_HELLO_NONCE_BYTES]) {
  cc_hello h;
  int fd = raw_peer_connect(port);
  memset(&h, 0, sizeof h);
  h.step = CC_HELLO_DIAL;
  h.world_size = world_size;
  h.rank = (uint32_t)rank;
  for (int i = 0; i < CC_HELLO_NONCE_BYTES; i++) nonce[i] = (uint8_t)(rank * 31 + i);
  memcpy(h.nonce, nonce, CC_HELLO_NONCE_BYTES);
  if (raw_peer_send_hello(fd, rank, &h) != 0) {
    perror("write");
    exit(1);
  }
  return fd;
}

/* Reads the engine's ANSWER on fd and proves the token with a CONFIRM:
 * 0, or -1 when no ANSWER came or the CONFIRM could not be written. */
static inline int raw_peer_confirm(int fd, uint32_t world_size, int rank, uint64_t token,
                                   const uint8_t nonce[CC_HELLO_NONCE_BYTES]) {
  uint8_t frame[CC_FRAME_HEADER_BYTES + CC_HELLO_BYTES], key[CC_AUTH_KEY_BYTES];
  size_t got = 0;
  cc_hello ans, h;
  while (got < sizeof frame) {
    ssize_t r = read(fd, frame + got, sizeof frame - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  if (cc_hello_parse(frame + CC_FRAME_HEADER_BYTES, CC_HELLO_BYTES, &ans, NULL, 0) != 0 ||
      ans.step != CC_HELLO_ANSWER)
    return -1;
  memset(&h, 0, sizeof h);
  h.step = CC_HELLO_CONFIRM;
  h.world_size = world_size;
  h.rank = (uint32_t)rank;
  cc_auth_link_key(token, key);
  cc_auth_hello_mac(key, CC_HELLO_CONFIRM, world_size, (uint32_t)rank, 0, nonce, ans.nonce,
                    h.mac);
  return raw_peer_send_hello(fd, rank, &h);
}

#endif
