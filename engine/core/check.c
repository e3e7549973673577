/*
 * check.c - the shared argument and state checks (see check.h). Each rule
 * and its wording is written once here, whatever front end calls it.
 */
#include "core/check.h"

/* ==== Worlds and ranks ===================================================== */

cc_status cc_check_world_size(int64_t n, cc_error *err) {
  if (n < 1)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "world size %lld is below 1",
                        (long long)n);
  if (n > CC_MAX_WORLD_SIZE)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE,
                        "world size %lld is above the limit of %d players", (long long)n,
                        CC_MAX_WORLD_SIZE);
  return CC_OK;
}

cc_status cc_check_player_rank(int64_t rank, int64_t n, cc_error *err) {
  if (rank < 0 || rank >= n)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE,
                        "rank %lld is outside the world of %lld players [0, %lld)",
                        (long long)rank, (long long)n, (long long)n);
  return CC_OK;
}

cc_status cc_check_rank(int64_t rank, int size, const char *what, cc_error *err) {
  if (rank < 0 || rank >= size)
    return cc_error_set(err, CC_EINVALID, rank >= 0 && rank <= INT32_MAX ? (int)rank : -1,
                        CC_TAG_NONE, "%s%srank %lld out of range [0, %d)", what ? what : "",
                        what ? " " : "", (long long)rank, size);
  return CC_OK;
}

cc_status cc_check_rank_list(const int *ranks, int n, int size, const char *what,
                             cc_error *err) {
  if (n < 0 || n > size)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "%d ranks listed for %d players", n,
                        size);
  for (int i = 0; i < n; i++) {
    cc_status st = cc_check_rank(ranks[i], size, what, err);
    if (st != CC_OK) return st;
    for (int j = 0; j < i; j++)
      if (ranks[j] == ranks[i])
        return cc_error_set(err, CC_EINVALID, ranks[i], CC_TAG_NONE, "%s%srank %d listed twice",
                            what ? what : "", what ? " " : "", ranks[i]);
  }
  return CC_OK;
}

/* ==== Tags and timings ======================================================= */

cc_status cc_check_user_tag(int64_t tag, cc_error *err) {
  int32_t t = tag < INT32_MIN ? INT32_MIN : tag > INT32_MAX ? INT32_MAX : (int32_t)tag;
  if (tag < 0)
    return cc_error_set(err, CC_EINVALID, -1, t,
                        "tag %lld is negative; negative tags belong to the library",
                        (long long)tag);
  if (tag > INT32_MAX)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "tag %lld is above %d",
                        (long long)tag, INT32_MAX);
  return CC_OK;
}

cc_status cc_check_heartbeat(double interval_s, double timeout_s, cc_error *err) {
  if (!(interval_s > 0) || !(timeout_s > interval_s))
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE,
                        "heartbeat_interval_s %g and heartbeat_timeout_s %g: "
                        "need 0 < interval < timeout", interval_s, timeout_s);
  return CC_OK;
}

cc_status cc_check_positive(const char *name, double value_s, cc_error *err) {
  if (!(value_s > 0))
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "%s %g must be positive", name,
                        value_s);
  return CC_OK;
}

/* ==== Shamir ================================================================= */

cc_status cc_check_threshold(int64_t k, size_t n, cc_error *err) {
  if (k < 1 || (uint64_t)k > n)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "threshold %lld out of range [1, %zu]",
                        (long long)k, n);
  return CC_OK;
}

/* ==== Handles ================================================================ */

cc_status cc_check_comm_live(const char *name, int engine_rank, bool comm_live,
                             bool engine_live, cc_error *err) {
  if (!engine_live)
    return cc_error_set(err, CC_ENOT_RUNNING, -1, CC_TAG_NONE,
                        "Comm %s: the engine of player %d was stopped", name, engine_rank);
  if (!comm_live)
    return cc_error_set(err, CC_ENOT_RUNNING, -1, CC_TAG_NONE, "Comm %s was freed", name);
  return CC_OK;
}

cc_status cc_check_engine_live(int engine_rank, bool live, cc_error *err) {
  if (!live)
    return cc_error_set(err, CC_ENOT_RUNNING, -1, CC_TAG_NONE,
                        "the engine of player %d was stopped", engine_rank);
  return CC_OK;
}
