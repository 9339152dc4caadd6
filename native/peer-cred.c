// SO_PEERCRED for Node (which has no API for it): the pid, uid and gid the kernel recorded for the process that
// connected to a unix socket, as of its connect(). The control sockets decide who may speak to them by it.
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value set_int(napi_env env, napi_value obj, const char *key, int64_t v) {
  napi_value n;
  if (napi_create_int64(env, v, &n) != napi_ok || napi_set_named_property(env, obj, key, n) != napi_ok) return NULL;
  return obj;
}

// peerCred(fd) -> { pid, uid, gid }; throws with errno's text when the fd is not a connected unix socket.
static napi_value peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) return fail(env, "peerCred(fd): one argument");
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return fail(env, "peerCred(fd): fd must be a non-negative integer");
  struct ucred cred;
  socklen_t len = sizeof cred;
  memset(&cred, 0, sizeof cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return fail(env, strerror(errno));
  if (len != sizeof cred) return fail(env, "SO_PEERCRED: short answer");
  napi_value out;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (!set_int(env, out, "pid", cred.pid) || !set_int(env, out, "uid", cred.uid) || !set_int(env, out, "gid", cred.gid)) return NULL;
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "peerCred", NAPI_AUTO_LENGTH, peer_cred, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCred", fn) != napi_ok) return NULL;
  return exports;
}
