"""The Python binding against a real stack: activate, check, getters,
deactivate. Run by tests/integration/client_test.c (make test), which
starts the stack and passes the server, a fresh license and the library
in the environment."""
import os
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keyport  # noqa: E402


class Binding(unittest.TestCase):
    def test_activate_check_deactivate(self):
        env = os.environ
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "state.json")
            with keyport.Client(state) as c:
                self.assertEqual(c.check(), keyport.NOT_ACTIVATED)
                c.set_product_key(env["KPT_PRODUCT_KEY"])
                c.set_app_version("1.2.3")
                c.set_timeout(10)
                c.activate(env["KPT_SERVER"] + "/", env["KPT_KEY"],
                           env["KPT_PRODUCT"])
                self.assertEqual(c.check(), keyport.OK, c.error())
                self.assertEqual(keyport.check_str(c.check()), "ok")
                self.assertEqual(c.license_id, env["KPT_LICENSE"])
                self.assertEqual(c.license_key, env["KPT_KEY"])
                self.assertEqual(c.license_type, "node-locked")
                self.assertEqual(c.license_status, "active")
                self.assertEqual(c.metadata("tier"), "pro")
                self.assertEqual(c.metadata("absent"), "")
                self.assertEqual(c.allowed_activations, 3)
                self.assertGreater(c.last_contact, 0)
                self.assertEqual(len(keyport.fingerprint()), 64)
                self.assertTrue(keyport.version())
                # the background sync reports the state through the
                # callback
                seen = []
                got = threading.Event()

                def cb(result):
                    seen.append(result)
                    got.set()

                c.sync_start(cb)
                self.assertTrue(got.wait(60), "no sync callback")
                c.sync_stop()
                self.assertEqual(seen[0], keyport.OK)
                c.heartbeat()
                c.deactivate()
                self.assertEqual(c.check(), keyport.NOT_ACTIVATED)
                with self.assertRaises(keyport.Error) as e:
                    c.heartbeat()
                self.assertEqual(e.exception.status, 8)  # KEYPORT_ENOTACTIVE
                with self.assertRaises(keyport.Error) as e:
                    c.activate(env["KPT_SERVER"], "NO-SUCH-KEY",
                               env["KPT_PRODUCT"])
                self.assertEqual(e.exception.server_code, "LICENSE_NOT_FOUND")


if __name__ == "__main__":
    unittest.main(verbosity=2)
