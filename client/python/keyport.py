"""keyport: the Python binding of libkeyport (ctypes over libkeyport.so.1).

No compiler is needed: the module loads the shared library at import, from
$KEYPORT_LIB when set, else the system's library path (libkeyport.so.1).

    import keyport
    c = keyport.Client("/var/lib/myapp/keyport.json")
    c.set_product_key(PRODUCT_PUBLIC_KEY)
    c.activate("https://licensing.example.com", key, PRODUCT_ID)
    result = c.check()            # keyport.OK, keyport.GRACE, keyport.EXPIRED...
    if result not in (keyport.OK, keyport.GRACE):
        sys.exit("license: " + c.error())

Every call that can fail raises keyport.Error (with .status, the
keyport_err number, and .server_code, the server's error code) except
check(), which returns its outcome.
"""
import ctypes
import ctypes.util
import os

__all__ = ["Client", "Error", "Release", "version", "fingerprint",
           "check_str", "OK", "GRACE", "EXPIRED", "SUSPENDED", "REVOKED",
           "NOT_ACTIVATED", "TAMPERED", "UNREACHABLE", "CHECK_ERROR"]

# keyport_check_result (client/keyport.h)
OK, GRACE, EXPIRED, SUSPENDED, REVOKED = 0, 1, 2, 3, 4
NOT_ACTIVATED, TAMPERED, UNREACHABLE, CHECK_ERROR = 5, 6, 7, 8


def _load():
    path = os.environ.get("KEYPORT_LIB")
    if not path:
        path = ctypes.util.find_library("keyport") or "libkeyport.so.1"
    return ctypes.CDLL(path)


_lib = _load()
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_LL = ctypes.c_longlong


class Release(ctypes.Structure):
    """keyport_release: the newest published release."""
    _fields_ = [("_id", ctypes.c_char * 64), ("_name", ctypes.c_char * 256),
                ("_version", ctypes.c_char * 64),
                ("_channel", ctypes.c_char * 64),
                ("_platform", ctypes.c_char * 64),
                ("_published_at", ctypes.c_char * 40), ("newer", _I)]

    def __getattr__(self, name):
        if name in ("id", "name", "version", "channel", "platform",
                    "published_at"):
            return getattr(self, "_" + name).decode()
        raise AttributeError(name)


_CALLBACK = ctypes.CFUNCTYPE(None, _I, _P)

for _name, _res, _args in [
        ("keyport_client_new", _P, [_S]),
        ("keyport_client_free", None, [_P]),
        ("keyport_error", _S, [_P]),
        ("keyport_strerror", _S, [_I]),
        ("keyport_server_code", _S, [_P]),
        ("keyport_version", _S, []),
        ("keyport_fingerprint", _I, [ctypes.c_char_p]),
        ("keyport_set_product_key", _I, [_P, _S]),
        ("keyport_set_timeout", _I, [_P, ctypes.c_long]),
        ("keyport_set_proxy", _I, [_P, _S]),
        ("keyport_set_ca_file", _I, [_P, _S]),
        ("keyport_set_server_key", _I, [_P, _S]),
        ("keyport_set_app_version", _I, [_P, _S]),
        ("keyport_set_heartbeat_interval", _I, [_P, _LL]),
        ("keyport_set_grace_period", _I, [_P, _LL]),
        ("keyport_activate", _I, [_P, _S, _S, _S]),
        ("keyport_heartbeat", _I, [_P]),
        ("keyport_deactivate", _I, [_P]),
        ("keyport_check", _I, [_P]),
        ("keyport_check_str", _S, [_I]),
        ("keyport_license_id", _S, [_P]),
        ("keyport_license_key", _S, [_P]),
        ("keyport_license_type", _S, [_P]),
        ("keyport_license_status", _S, [_P]),
        ("keyport_license_user_id", _S, [_P]),
        ("keyport_license_organization_id", _S, [_P]),
        ("keyport_activation_id", _S, [_P]),
        ("keyport_product_id", _S, [_P]),
        ("keyport_license_metadata", _S, [_P, _S]),
        ("keyport_license_expires_at", _LL, [_P]),
        ("keyport_license_allowed_activations", _LL, [_P]),
        ("keyport_license_total_activations", _LL, [_P]),
        ("keyport_last_contact", _LL, [_P]),
        ("keyport_sync_start", _I, [_P, _CALLBACK, _P]),
        ("keyport_sync_now", None, [_P]),
        ("keyport_sync_stop", None, [_P]),
        ("keyport_latest_release", _I, [_P, _S, _S, ctypes.POINTER(Release)]),
        ("keyport_offline_request", _I, [_P, _S, _S, _S]),
        ("keyport_offline_activate", _I, [_P, _S]),
        ("keyport_offline_deactivate", _I, [_P, _S]),
]:
    _f = getattr(_lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def _b(s):
    return None if s is None else s.encode()


class Error(Exception):
    """A libkeyport failure: status is the keyport_err number."""

    def __init__(self, status, message, server_code=""):
        super().__init__(message)
        self.status = status
        self.server_code = server_code


def version():
    """The library's version."""
    return _lib.keyport_version().decode()


def check_str(result):
    """The name of a check result: "ok", "grace", "expired", ..."""
    return _lib.keyport_check_str(result).decode()


def fingerprint():
    """This machine's fingerprint (64 hex digits)."""
    buf = ctypes.create_string_buffer(65)
    rc = _lib.keyport_fingerprint(buf)
    if rc != 0:
        raise Error(rc, _lib.keyport_strerror(rc).decode())
    return buf.value.decode()


class Client:
    """A libkeyport client for one state file (None: $KEYPORT_STATE, else
    ~/.keyport/state.json). Not thread-safe; close() or use `with`."""

    def __init__(self, state_path=None):
        self._c = _lib.keyport_client_new(_b(state_path))
        if not self._c:
            raise MemoryError("keyport_client_new")
        self._cb = None

    def close(self):
        if self._c:
            _lib.keyport_client_free(self._c)
            self._c = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _ok(self, rc):
        if rc != 0:
            raise Error(rc, _lib.keyport_error(self._c).decode(),
                        _lib.keyport_server_code(self._c).decode())

    def _s(self, fn, *args):
        return fn(self._c, *args).decode()

    def error(self):
        """The last failure's (or non-ok check's) one-line reason."""
        return _lib.keyport_error(self._c).decode()

    # options
    def set_product_key(self, key):
        self._ok(_lib.keyport_set_product_key(self._c, _b(key)))

    def set_timeout(self, seconds):
        self._ok(_lib.keyport_set_timeout(self._c, seconds))

    def set_proxy(self, url):
        self._ok(_lib.keyport_set_proxy(self._c, _b(url)))

    def set_ca_file(self, path):
        self._ok(_lib.keyport_set_ca_file(self._c, _b(path)))

    def set_server_key(self, pin):
        self._ok(_lib.keyport_set_server_key(self._c, _b(pin)))

    def set_app_version(self, v):
        self._ok(_lib.keyport_set_app_version(self._c, _b(v)))

    def set_heartbeat_interval(self, seconds):
        self._ok(_lib.keyport_set_heartbeat_interval(self._c, seconds))

    def set_grace_period(self, seconds):
        self._ok(_lib.keyport_set_grace_period(self._c, seconds))

    # online
    def activate(self, server, key, product_id):
        self._ok(_lib.keyport_activate(self._c, _b(server), _b(key),
                                       _b(product_id)))

    def heartbeat(self):
        self._ok(_lib.keyport_heartbeat(self._c))

    def deactivate(self):
        self._ok(_lib.keyport_deactivate(self._c))

    def check(self):
        """keyport_check: one of OK, GRACE, EXPIRED, SUSPENDED, REVOKED,
        NOT_ACTIVATED, TAMPERED, UNREACHABLE, CHECK_ERROR."""
        return _lib.keyport_check(self._c)

    def latest_release(self, platform=None, channel=None):
        """The newest published release (Release), or None when none."""
        r = Release()
        rc = _lib.keyport_latest_release(self._c, _b(platform), _b(channel),
                                         ctypes.byref(r))
        if rc == 12:  # KEYPORT_ENORELEASE
            return None
        self._ok(rc)
        return r

    # offline
    def offline_request(self, key, product_id, out_path):
        self._ok(_lib.keyport_offline_request(self._c, _b(key),
                                              _b(product_id), _b(out_path)))

    def offline_activate(self, response_path):
        self._ok(_lib.keyport_offline_activate(self._c, _b(response_path)))

    def offline_deactivate(self, out_path):
        self._ok(_lib.keyport_offline_deactivate(self._c, _b(out_path)))

    # getters
    license_id = property(lambda s: s._s(_lib.keyport_license_id))
    license_key = property(lambda s: s._s(_lib.keyport_license_key))
    license_type = property(lambda s: s._s(_lib.keyport_license_type))
    license_status = property(lambda s: s._s(_lib.keyport_license_status))
    user_id = property(lambda s: s._s(_lib.keyport_license_user_id))
    organization_id = property(
        lambda s: s._s(_lib.keyport_license_organization_id))
    activation_id = property(lambda s: s._s(_lib.keyport_activation_id))
    product_id = property(lambda s: s._s(_lib.keyport_product_id))
    expires_at = property(lambda s: _lib.keyport_license_expires_at(s._c))
    allowed_activations = property(
        lambda s: _lib.keyport_license_allowed_activations(s._c))
    total_activations = property(
        lambda s: _lib.keyport_license_total_activations(s._c))
    last_contact = property(lambda s: _lib.keyport_last_contact(s._c))

    def metadata(self, name):
        """The license metadata value of name, "" when absent."""
        return _lib.keyport_license_metadata(self._c, _b(name)).decode()

    # background sync
    def sync_start(self, callback):
        """Heartbeat on the interval in a thread; callback(result) on every
        change of check()."""
        self._cb = _CALLBACK(lambda r, _arg: callback(r))
        self._ok(_lib.keyport_sync_start(self._c, self._cb, None))

    def sync_now(self):
        _lib.keyport_sync_now(self._c)

    def sync_stop(self):
        _lib.keyport_sync_stop(self._c)
        self._cb = None
