"""`make screenshots`: the web page's main pages, desktop (1280 px) and phone (390 px), written to
docs/screenshots/ from a real vfaxd with a few faxes sent over the loopback trunk."""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("VFAXD", os.path.join(ROOT, "build", "dev", "bin", "vfaxd"))
os.environ.setdefault("VFAX", os.path.join(ROOT, "build", "dev", "bin", "vfax"))
from browser import Browser  # noqa: E402
from vfaxtest import Daemon, make_pdf  # noqa: E402

OUT = os.path.join(ROOT, "docs", "screenshots")
PAGES = [  # (file name, hash path, heading that says the page is ready, user)
    ("login", "/", "Log in to vfax", None),
    ("faxes", "/#/faxes", "Faxes", "ann"),
    ("fax", "/#/faxes/{fax}", "Fax {fax}", "ann"),
    ("send", "/#/send", "Send a fax", "ann"),
    ("account", "/#/account", "My account", "ann"),
    ("admin-settings", "/#/admin/settings", "Settings", "admin"),
    ("admin-devices", "/#/admin/devices", "Devices", "admin"),
    ("admin-lines", "/#/admin/lines", "Lines", "admin"),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vfax-shots-")
    d = Daemon(tmp, {"server": {"log_level": "info"}}).start()
    try:
        status, users = d.request("GET", "/api/v1/users")
        admin = next(u for u in users["users"] if u["username"] == "admin")
        d.request("PUT", f"/api/v1/users/{admin['id']}", {"password": "admin-secret-pw"})
        ids = {}
        for name, ext, full in (("ann", "201", "Ann Fischer"), ("bob", "202", "Bob Weber")):
            u = d.add_user(name, password=f"{name}-secret-pw", email=f"{name}@example.test", name=full)
            ids[name] = u["id"]
            d.request("POST", "/api/v1/devices", {"kind": "user", "name": full, "email": f"{name}@example.test",
                                                  "extension": ext, "owner": u["id"]})
        d.request("POST", "/api/v1/devices", {"kind": "team", "name": "Accounting", "email": "acc@example.test",
                                              "extension": "300", "members": [ids["ann"], ids["bob"]]})
        status, tok = d.request("POST", "/api/v1/tokens", {"name": "shots", "user": ids["ann"]})
        token = tok["token"]
        fax_ids = []
        for pages, to, subject in ((2, "202", "Invoice 4711"), (1, "300", "Delivery note"), (3, "202", "")):
            pdf = make_pdf(os.path.join(tmp, f"doc{pages}.pdf"), pages, title=subject or "Contract")
            with open(pdf, "rb") as f:
                fields = {"to": to}
                if subject:
                    fields.update({"subject": subject, "cover": "true"})
                status, fax = d.post_fax(fields, [(os.path.basename(pdf), f.read(), "application/pdf")], token=token)
            fax_ids.append(fax["id"])
        for fid in fax_ids:
            d.wait_final(fid)
        shown = fax_ids[0]
        for width, height, kind in ((1280, 900, "desktop"), (390, 844, "phone")):
            b = Browser(width=width, height=height)
            try:
                who = None
                for name, path, heading, user in PAGES:
                    if user != who:
                        if who:
                            b.click("button", "Log out")
                            b.heading("Log in to vfax")
                        if user:
                            b.get(d.url + "/")
                            b.fill("User name", user)
                            b.fill("Password", f"{user}-secret-pw")
                            b.click("button", "Log in")
                            b.heading("Faxes")
                        who = user
                    b.get(d.url + path.format(fax=shown))
                    try:
                        b.heading(heading.format(fax=shown), timeout=10)
                    except AssertionError:
                        print(f"screenshots: {name} not shown (no heading {heading!r}), skipped")
                        continue
                    if name == "send":
                        b.fill("Fax number", "+49 89 1234567")
                    time.sleep(1.0)
                    path_out = os.path.join(OUT, f"{name}-{kind}.png")
                    b.screenshot(path_out)
                    print("screenshots:", os.path.relpath(path_out, ROOT))
            finally:
                b.close()
    finally:
        d.stop()


if __name__ == "__main__":
    main()
