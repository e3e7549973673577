/*
 * control.h - the formats of the handshake and control messages, packed and
 * parsed here so that one strict parser serves the engine and the fuzzers:
 *
 *   - the link HELLO that opens every connection between two players (net),
 *   - the rendezvous lines a newcomer and the root exchange (boot),
 *   - the agreement's votes and estimates (comm).
 *
 * Engine core: no sockets, no engine state. Every parser takes a length,
 * never reads past it, checks every field and returns 0, or -1 with a
 * message in err (err may be NULL) that names the field and what is wrong.
 * What a parser accepts, its pack function writes back byte for byte: each
 * format has exactly one encoding per value.
 */
#ifndef CICADA_CORE_CONTROL_H
#define CICADA_CORE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire.h"

/* ==== Link HELLO ========================================================= */

/* The payload of a CC_FRAME_HELLO, all little-endian. A link opens with
 * three of them, a challenge and response each way, so that each side
 * proves it knows the world's link key without ever sending it (net.c):
 *
 *   dialler  -> acceptor  DIAL     its rank and nonce, mac all zero
 *   acceptor -> dialler   ANSWER   its rank and nonce, mac over both nonces
 *   dialler  -> acceptor  CONFIRM  its rank, nonce all zero, mac over both
 *
 *   u32 magic      CC_HELLO_MAGIC, "CCDA"
 *   u8  step       CC_HELLO_DIAL, CC_HELLO_ANSWER or CC_HELLO_CONFIRM
 *   u32 world      world size, 1 .. INT32_MAX
 *   u32 rank       the sender's world rank, below world
 *   u8  nonce[16]  the sender's fresh nonce (zero in a CONFIRM)
 *   u8  mac[32]    see net/auth.h (zero in a DIAL)
 */
#define CC_HELLO_MAGIC 0x41444343u
#define CC_HELLO_NONCE_BYTES 16
#define CC_HELLO_MAC_BYTES 32
#define CC_HELLO_BYTES (13 + CC_HELLO_NONCE_BYTES + CC_HELLO_MAC_BYTES)

enum { CC_HELLO_DIAL = 1, CC_HELLO_ANSWER = 2, CC_HELLO_CONFIRM = 3 };

typedef struct cc_hello {
  uint8_t step;
  uint32_t world_size;
  uint32_t rank;
  uint8_t nonce[CC_HELLO_NONCE_BYTES];
  uint8_t mac[CC_HELLO_MAC_BYTES];
} cc_hello;

void cc_hello_pack(const cc_hello *h, uint8_t out[CC_HELLO_BYTES]);

/* The format alone: len must be CC_HELLO_BYTES, the magic right, the step
 * known, the world size 1 .. INT32_MAX, the rank below it, a DIAL's mac and
 * a CONFIRM's nonce zero. h is filled from whatever bytes
 * there are (zeros for missing ones) also when it fails, for messages. */
int cc_hello_parse(const uint8_t *in, size_t len, cc_hello *h, char *err, size_t errsz);

/* What this player expects of a parsed HELLO: the same world size, a rank
 * other than its own, and, if expect_rank >= 0 (a connection it dialled,
 * or one whose DIAL named it), that rank. The mac is left to the caller. */
int cc_hello_check(const cc_hello *h, int world_size, int self_rank, int expect_rank,
                   char *err, size_t errsz);

/* ==== Rendezvous lines =================================================== */

/* Text lines, fields separated by one space, each line ended by '\n'
 * (the parsers take a line without its '\n'):
 *
 *   root -> newcomer   CHALLENGE <nonce>           as soon as it connects
 *   newcomer -> root   CICADA <version> <world> <rank> <nonce> <tls|plain> <port> <mac> <host>
 *   root -> newcomer   OK <world id> <mac>         then one "<port> <host>" per rank
 *                  or  ERR <kind> <message>
 *
 * A newcomer of a grown world (comm:grow, cicada-lua --join) asks with
 * world 1 and rank 0 (any seat), and its root answers SEAT before OK:
 *
 *   root -> newcomer   SEAT <world> <rank> <newcomers> <name>
 *
 *   world      the grown world's size, 2 .. CC_MAX_WORLD_SIZE
 *   rank       the newcomer's rank in it, one of newcomers
 *   newcomers  the ranks of the grow's newcomers, ascending, separated by
 *              commas, 1 .. CC_RDV_SEATS_MAX of them, each below world
 *   name       the grown communicator's name: the rest of the line,
 *              1 .. CC_RDV_NAME_MAX - 1 printable bytes
 *
 *   version  CC_RDV_VERSION
 *   world    1 .. INT32_MAX, decimal without sign or leading zeros (so all numbers)
 *   rank     0 .. world - 1
 *   nonce    CC_RDV_NONCE_CHARS lowercase hex digits, fresh for each connection
 *   mac      CC_RDV_MAC_CHARS lowercase hex digits: the proof that the sender
 *            knows the world's token (boot/rendezvous.c says over what)
 *   port     1 .. 65535
 *   host     1 .. CC_RDV_HOST_MAX - 1 printable bytes, no space; "-" in a
 *            newcomer's line: the address the root sees it at
 *   world id 16 lowercase hex digits, a fresh number naming this run
 *   kind     1 .. CC_RDV_KIND_MAX - 1 of [a-z_]
 *   message  the rest of the line, printable, may be empty
 *
 * No line holds control bytes (below 0x20, or 0x7f), and none is longer
 * than CC_RDV_LINE_MAX bytes before its '\n'.
 */
#define CC_RDV_VERSION 2
#define CC_RDV_LINE_MAX 510
#define CC_RDV_NONCE_CHARS 32
#define CC_RDV_MAC_CHARS 64
#define CC_RDV_HOST_MAX 256
#define CC_RDV_KIND_MAX 32

typedef struct cc_rdv_join {
  int world_size;
  int rank;
  char nonce[CC_RDV_NONCE_CHARS + 1];
  bool tls;
  uint16_t port;
  char mac[CC_RDV_MAC_CHARS + 1];
  char host[CC_RDV_HOST_MAX];
} cc_rdv_join;

typedef struct cc_rdv_reply {
  bool ok;                               /* OK, else ERR */
  uint64_t token;                        /* OK: the world id */
  char mac[CC_RDV_MAC_CHARS + 1];        /* OK */
  char kind[CC_RDV_KIND_MAX];            /* ERR */
  char message[CC_RDV_LINE_MAX + 1];     /* ERR */
} cc_rdv_reply;

#define CC_RDV_NAME_MAX 64
#define CC_RDV_SEATS_MAX 64

typedef struct cc_rdv_seat {
  int world_size;
  int rank;
  int count;                             /* newcomers */
  int newcomers[CC_RDV_SEATS_MAX];       /* their ranks, ascending */
  char name[CC_RDV_NAME_MAX];
} cc_rdv_seat;

typedef struct cc_rdv_entry {
  uint16_t port;
  char host[CC_RDV_HOST_MAX];
} cc_rdv_entry;

/* Each pack function writes one line, its '\n' and a terminating NUL to
 * out and returns the bytes of the line ('\n' included, NUL not), or -1 if
 * a field is outside its format or out (at least CC_RDV_LINE_MAX + 2 bytes
 * is always enough) is too small. */
int cc_rdv_join_pack(const cc_rdv_join *j, char *out, size_t outsz);
int cc_rdv_challenge_pack(const char *nonce, char *out, size_t outsz);
int cc_rdv_ok_pack(uint64_t token, const char *mac, char *out, size_t outsz);
/* The message is cut to fit the line, and control bytes in it become '?'. */
int cc_rdv_err_pack(const char *kind, const char *message, char *out, size_t outsz);
int cc_rdv_entry_pack(const cc_rdv_entry *e, char *out, size_t outsz);
int cc_rdv_seat_pack(const cc_rdv_seat *seat, char *out, size_t outsz);

/* nonce: CC_RDV_NONCE_CHARS + 1 bytes, the challenge's nonce and a NUL. */
int cc_rdv_challenge_parse(const char *line, size_t len, char *nonce, char *err, size_t errsz);
int cc_rdv_join_parse(const char *line, size_t len, cc_rdv_join *j, char *err, size_t errsz);
int cc_rdv_reply_parse(const char *line, size_t len, cc_rdv_reply *r, char *err, size_t errsz);
int cc_rdv_entry_parse(const char *line, size_t len, cc_rdv_entry *e, char *err, size_t errsz);
int cc_rdv_seat_parse(const char *line, size_t len, cc_rdv_seat *seat, char *err, size_t errsz);

/* ==== Agreement messages ================================================= */

/* All little-endian. Every message starts with a header:
 *
 *   u32 seq        the agreement's number on its communicator
 *   u8  kind       CC_AGREE_VOTE or CC_AGREE_ESTIMATE
 *   u32 round      0 for a vote; the coordinator's rank for an estimate
 *
 * vote:      u8 flag (0/1), u8 state (IN or IN_NAMED), [name if IN_NAMED]
 * estimate:  u8 flag (0/1), u32 n, then per member u8 state
 *            (OUT, IN or IN_NAMED) and [name if IN_NAMED]
 * name:      u32 len (at most CC_AGREE_NAME_MAX), len bytes, no zero byte
 *
 * Nothing follows the last field.
 */
#define CC_AGREE_HEADER_BYTES 9
#define CC_AGREE_NAME_MAX 4096

enum { CC_AGREE_VOTE = 1, CC_AGREE_ESTIMATE = 2 };
enum { CC_AGREE_OUT = 0, CC_AGREE_IN = 1, CC_AGREE_IN_NAMED = 2 };

typedef struct cc_agree_header {
  uint32_t seq;
  uint8_t kind;
  uint32_t round;
} cc_agree_header;

/* Append a message to b: 0, or -1 if out of memory or a field is outside the
 * format (a name too long, a state unknown, IN_NAMED without a name). name
 * NULL: a vote without a name (IN). */
int cc_agree_vote_pack(cc_buf *b, uint32_t seq, bool flag, const char *name);
int cc_agree_estimate_pack(cc_buf *b, uint32_t seq, uint32_t round, bool flag, int n,
                           const uint8_t *state, char *const *names);

/* The header alone (the rest of the message is not looked at): the kind
 * known and a vote's round 0. */
int cc_agree_header_parse(const uint8_t *in, size_t len, cc_agree_header *h, char *err,
                          size_t errsz);

/* A whole vote. *name becomes a malloc'd copy (free it) for a named vote,
 * NULL otherwise; nothing is left allocated on failure. h may be NULL. */
int cc_agree_vote_parse(const uint8_t *in, size_t len, cc_agree_header *h, bool *flag,
                        uint8_t *state, char **name, char *err, size_t errsz);

/* A whole estimate for n members (its count must be n): state[n] and
 * names[n] filled, names[i] a malloc'd copy for IN_NAMED and NULL otherwise
 * (earlier contents are overwritten, not freed). On failure every names[i]
 * is NULL and nothing is left allocated. h may be NULL. */
int cc_agree_estimate_parse(const uint8_t *in, size_t len, int n, cc_agree_header *h,
                            bool *flag, uint8_t *state, char **names, char *err,
                            size_t errsz);

#endif
