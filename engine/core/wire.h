/*
 * wire.h - the bytes that travel between players: growable buffers, frame
 * headers and the value codec (a tagged binary format for nil, booleans,
 * integers, floats, strings, tables and field arrays).
 *
 * Engine core: no Lua here. The Lua side (lua_codec.c) walks Lua values with
 * the writer and builds them back with the reader; the fuzzer drives the
 * reader alone.
 *
 * Value format (all numbers little-endian), one value per payload:
 *
 *   0x01                       nil
 *   0x02 / 0x03                false / true
 *   0x04 i64                   integer (two's complement)
 *   0x05 f64                   float (IEEE-754 bits, any value: -0.0, inf, NaN)
 *   0x06 u32 len, bytes        string (may hold zeros)
 *   0x07 u32 narr, u32 nhash   table: narr values for keys 1..narr, then
 *                              nhash key/value pairs (keys neither nil nor NaN;
 *                              values never nil)
 *   0x08 u64 order, u8 ndim,   field array of GF(order), ndim 0 (scalar),
 *        u32 shape[ndim],      1 or 2; n = product of shape (1 for ndim 0)
 *        u64 words[n]          row-major words, each below order
 *   0x09 u64 order_lo,         field array of GF(order) for an order of 65 to
 *        u64 order_hi, u8 ndim, 128 bits (order_hi != 0; smaller orders use
 *        u32 shape[ndim],      0x08, so each array has one encoding); element
 *        u64 words[2n]         i is words[2i] + 2^64 * words[2i+1], below order
 *
 * Integers and floats are distinct kinds, so 3 and 3.0 round-trip as written.
 */
#ifndef CICADA_WIRE_H
#define CICADA_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ==== Growable byte buffer ============================================== */

typedef struct cc_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} cc_buf;

void cc_buf_init(cc_buf *b);
int cc_buf_reserve(cc_buf *b, size_t extra);            /* 0, or -1 if out of memory */
int cc_buf_append(cc_buf *b, const void *p, size_t n);  /* 0 / -1 */
uint8_t *cc_buf_steal(cc_buf *b, size_t *len);          /* caller frees with free(); b becomes empty */
void cc_buf_free(cc_buf *b);

/* ==== Frame header ====================================================== */

#define CC_WIRE_VERSION 1
#define CC_FRAME_HEADER_BYTES 24

/* little-endian: version u8, type u8, flags u16, tag i32, context u64,
 * source u32, length u32 (payload bytes that follow the header) */
typedef struct cc_frame_header {
  uint8_t version;
  uint8_t type;
  uint16_t flags;
  int32_t tag;
  uint64_t context;
  uint32_t source;
  uint32_t length;
} cc_frame_header;

void cc_frame_pack(const cc_frame_header *h, uint8_t out[CC_FRAME_HEADER_BYTES]);

/* 0, or -1 with a message in err: wrong version, length over
 * max_payload_bytes, or a type not below ntypes (the net layer's
 * CC_FRAME_TYPE_COUNT). */
int cc_frame_unpack(const uint8_t in[CC_FRAME_HEADER_BYTES], uint32_t max_payload_bytes,
                    unsigned ntypes, cc_frame_header *h, char *err, size_t errsz);

/* ==== Limits ============================================================ */

#define CC_WIRE_DEFAULT_MAX_DEPTH 64                 /* nested tables */
#define CC_WIRE_DEFAULT_MAX_ELEMENTS (16u << 20)     /* values, keys included */
#define CC_WIRE_DEFAULT_MAX_BYTES ((size_t)1 << 30)  /* 1 GiB per encoded value */
#define CC_WIRE_DEPTH_CAP 255 /* the reader's fixed stack; max_depth is clamped to it */

typedef struct cc_wire_limits {
  size_t max_depth;     /* tables inside tables: a top-level table is depth 1 */
  size_t max_elements;  /* values read or written, table keys included;
                           field array words count only toward max_bytes */
  size_t max_bytes;     /* size of the whole encoding */
} cc_wire_limits;

void cc_wire_limits_default(cc_wire_limits *l);

/* ==== Value writer ====================================================== */

/* Tag bytes; cc_wire_kind values equal them. */
typedef enum cc_wire_kind {
  CC_WIRE_NIL = 0x01,
  CC_WIRE_FALSE = 0x02,
  CC_WIRE_TRUE = 0x03,
  CC_WIRE_INT = 0x04,
  CC_WIRE_FLOAT = 0x05,
  CC_WIRE_STRING = 0x06,
  CC_WIRE_TABLE = 0x07,
  CC_WIRE_ARRAY = 0x08,
  CC_WIRE_ARRAY128 = 0x09
} cc_wire_kind;

#define CC_WIRE_MAX_COUNT UINT32_MAX /* string bytes, table counts, array dims */
#define CC_WIRE_MAX_NDIM 2

/* Each appends one item and returns 0, or -1 if out of memory or a length is
 * over CC_WIRE_MAX_COUNT. A table header is followed by its narr values and
 * nhash key/value pairs, written by the caller. */
int cc_wire_put_nil(cc_buf *b);
int cc_wire_put_bool(cc_buf *b, int v);
int cc_wire_put_int(cc_buf *b, int64_t v);
int cc_wire_put_float(cc_buf *b, double v);
int cc_wire_put_string(cc_buf *b, const void *s, size_t len);
int cc_wire_put_table(cc_buf *b, size_t narr, size_t nhash);
/* Rewrite the counts of the table header written at byte offset `at`, for a
 * writer that learns nhash only after writing the pairs. */
int cc_wire_patch_table(cc_buf *b, size_t at, size_t narr, size_t nhash);
/* ndim 0, 1 or 2; words holds the product of shape (1 for ndim 0) words. */
int cc_wire_put_array(cc_buf *b, uint64_t order, int ndim, const size_t *shape,
                      const uint64_t *words);
/* The same for an order of 65 to 128 bits (order_hi != 0, else -1): words
 * holds 2 words (lo, hi) per element, as in core/field128.h. */
int cc_wire_put_array128(cc_buf *b, uint64_t order_lo, uint64_t order_hi, int ndim,
                         const size_t *shape, const uint64_t *words);

/* The bytes of an array's encoding before its words, for a writer that
 * fills the words itself (e.g. block by block, straight into a payload):
 * at most CC_WIRE_ARRAY_HEADER_MAX of them written at out. width is 1
 * (order_hi 0, tag 0x08) or 2 (order_hi nonzero, tag 0x09). Returns how
 * many, or 0 if there can be no such encoding (width, ndim or a size out
 * of range). cc_wire_array_bytes(width, ndim, shape) is this plus 8 bytes
 * per word. */
#define CC_WIRE_ARRAY_HEADER_MAX (1 + 16 + 1 + 4 * CC_WIRE_MAX_NDIM)
size_t cc_wire_array_header(uint8_t *out, int width, uint64_t order_lo, uint64_t order_hi,
                            int ndim, const size_t *shape);
/* Store n words at dst (any alignment) as the encoding's little-endian
 * u64s. */
void cc_wire_store_words(uint8_t *dst, const uint64_t *src, size_t n);

/* ==== Value reader ====================================================== */

/* What one item is to the table that holds it. */
typedef enum cc_wire_role {
  CC_WIRE_ROLE_TOP,    /* the value itself */
  CC_WIRE_ROLE_ITEM,   /* array part: the value of key `index` */
  CC_WIRE_ROLE_KEY,    /* hash part: a key */
  CC_WIRE_ROLE_VALUE   /* hash part: the value of the key just read */
} cc_wire_role;

/* One item. Pointers point into the reader's input. */
typedef struct cc_wire_item {
  cc_wire_kind kind;
  cc_wire_role role;
  size_t offset;          /* byte offset of the item's tag */
  size_t depth;           /* tables around the item */
  size_t index;           /* CC_WIRE_ROLE_ITEM: 1-based array index */
  int64_t integer;        /* CC_WIRE_INT */
  double number;          /* CC_WIRE_FLOAT */
  const uint8_t *bytes;   /* CC_WIRE_STRING: len bytes; */
  size_t len;
  size_t narr, nhash;     /* CC_WIRE_TABLE: its items follow */
  uint64_t order;         /* CC_WIRE_ARRAY; the low word for CC_WIRE_ARRAY128 */
  uint64_t order_hi;      /* CC_WIRE_ARRAY128: the high word (nonzero) */
  int ndim;
  size_t shape[CC_WIRE_MAX_NDIM];
  size_t nwords;          /* elements, times 2 for CC_WIRE_ARRAY128 */
  const uint8_t *words;   /* nwords little-endian u64, unaligned: use cc_wire_load_words */
} cc_wire_item;

typedef struct cc_wire_open {
  size_t narr_left;   /* array values still to read */
  size_t hash_left;   /* keys and values still to read (2 per pair) */
  size_t next_index;  /* 1-based index of the next array value */
} cc_wire_open;

typedef struct cc_wire_reader {
  const uint8_t *in;
  size_t len;
  size_t pos;
  cc_wire_limits limits;
  size_t nelements;
  uint64_t pending;   /* items declared by open tables and not yet read */
  uint64_t known_order; /* last field order that passed the check (0: none) */
  uint64_t known_order_hi; /* its high word (CC_WIRE_ARRAY128) */
  size_t depth;
  int started;
  int failed;
  int defer_words;    /* see cc_wire_reader_defer_words */
  cc_wire_open open[CC_WIRE_DEPTH_CAP];
  char err[192];
} cc_wire_reader;

/* limits may be NULL for the defaults. */
void cc_wire_reader_init(cc_wire_reader *r, const void *in, size_t len,
                         const cc_wire_limits *limits);
/* 1 with the next item in *it, 0 when the value is complete and nothing
 * follows it, -1 on malformed input (message from cc_wire_reader_error). */
int cc_wire_next(cc_wire_reader *r, cc_wire_item *it);
/* After reading one whole value: 0 if the input ends there, else -1. */
int cc_wire_reader_finish(cc_wire_reader *r);
const char *cc_wire_reader_error(const cc_wire_reader *r);

/* Read a whole encoding without building anything: 0, or -1 with the
 * reader's message in err. */
int cc_wire_validate(const void *in, size_t len, const cc_wire_limits *limits,
                     char *err, size_t errsz);

/* Copy n little-endian words (as found in cc_wire_item.words) to dst. */
void cc_wire_load_words(uint64_t *dst, const uint8_t *src, size_t n);

/* For a reader whose every field array is copied out: cc_wire_next no
 * longer checks an array's words against its order, and the caller must
 * copy each array with cc_wire_load_checked, which checks them as it
 * copies (one pass over the words instead of two). */
void cc_wire_reader_defer_words(cc_wire_reader *r);
/* Copy the words of array item it to dst (it->nwords of them), checking
 * each against the order: 0, or -1 with the reader failed and its message
 * set as cc_wire_next would have (dst is then partly written). */
int cc_wire_load_checked(cc_wire_reader *r, const cc_wire_item *it, uint64_t *dst);

/* Copy elements [first, first + count) of array item it to dst (count
 * times its width words, aligned), checking each against the order: 0, or
 * -1 with r failed and its message set as cc_wire_next would have (naming
 * the array's first bad element; dst is then partly written). it may come
 * from another reader: r only gets the message. For a reader that defers
 * the words' check (cc_wire_reader_defer_words) and reads an array in
 * pieces. */
int cc_wire_load_range(cc_wire_reader *r, const cc_wire_item *it, size_t first, size_t count,
                       uint64_t *dst);

/* Bytes of the encoding of a field array of `width` words per element
 * (1 or 2) and the given shape, or 0 if there can be no such encoding. */
size_t cc_wire_array_bytes(int width, int ndim, const size_t *shape);

#endif
