"""Hostile documents against the real vfaxd: every converter (vfax-convert, Ghostscript,
LibreOffice) runs sandboxed. PostScript that reads the server's files, HTML that names them, an
ODT with a linked file, a linked image and a macro: none of it reaches a fax page. While an endless
PostScript job runs, /proc shows its converter in another network namespace, with no_new_privs and
(as root) the sandbox user; after SIGTERM to vfaxd no converter is left. Without Landlock documents
are refused unless the config allows it, and /healthz says which applies."""
import os
import shutil
import socket
import struct
import subprocess
import time
import unittest
import zipfile
import zlib

from vfaxtest import HAVE_LANDLOCK, VfaxTestCase, make_pdf

EXPECTED_MODE = "landlock+netns+uid" if os.geteuid() == 0 else "landlock+userns+netns"


def black_png(path, size=600):
    """A black square: any of it on a fax page shows as ink."""
    raw = b"".join(b"\0" + b"\0" * size for _ in range(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)
    return path


def page_images(pdf, prefix, dpi=100):
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), pdf, prefix], check=True)
    folder = os.path.dirname(prefix)
    return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                  if n.startswith(os.path.basename(prefix) + "-") and n.endswith(".pgm"))


def ink_share(pgm):
    with open(pgm, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)  # P5 width height maxval pixels
    w, h = int(parts[1]), int(parts[2])
    pixels = parts[4][:w * h]
    return sum(1 for p in pixels if p < 128) / float(w * h)


def ocr(pdf, prefix):
    """The fax pages' text as tesseract reads it."""
    text = []
    for pgm in page_images(pdf, prefix, dpi=200):
        text.append(subprocess.run(["tesseract", pgm, "-", "-l", "eng"], capture_output=True,
                                   text=True, check=True).stdout)
    return "\n".join(text)


def descendants(pid):
    """Pids of every process below `pid` (from /proc's parent links)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def status_field(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].split()
    return []


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def converter_tree(vfaxd):
    """(Ghostscript pids, vfax-convert pids, every pid) below vfaxd once both run, else None."""
    procs = {p: cmdline(p) for p in descendants(vfaxd)}
    gs = [p for p, argv in procs.items() if argv and os.path.basename(argv[0]) == "gs"]
    convert = [p for p, argv in procs.items() if argv and os.path.basename(argv[0]) == "vfax-convert"]
    return (gs, convert, list(procs)) if gs and convert else None


def survivors(pids):
    """Those of `pids` still alive after a while. SIGKILL is sent at once (PR_SET_PDEATHSIG, the
    process group); the wait only bounds how long the kernel may take to deliver it."""
    deadline = time.time() + 20
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [(p, cmdline(p)) for p in pids if alive(p)]


PS_ATTACK = """%!PS
/Helvetica findfont 26 scalefont setfont
/buf 300 string def
/y 720 def
/line { 72 y moveto show /y y 44 sub def } def
/leaked false def
/probe { /label exch def /path exch def
  mark { path (r) file buf readstring pop /got exch def } stopped
  { cleartomark label line (DENIED) line }
  { cleartomark /leaked true def (LEAKED) line got line } ifelse
} def
(/etc/passwd) (PASSWD) probe
(SECRET) (SECRETKEY) probe
(TOKEN) (ADMINTOKEN) probe
mark { (%pipe%python3 -c "import socket; socket.create_connection(('127.0.0.1', PORT))") (w) file closefile } stopped
{ cleartomark (NOPIPE) line } { cleartomark /leaked true def (PIPED) line } ifelse
showpage
leaked { /y 720 def (SECOND PAGE) line showpage } if
"""


@unittest.skipUnless(HAVE_LANDLOCK, "no Landlock in this kernel")
class Sandbox(VfaxTestCase):
    def setUp(self):
        super().setUp()
        # Anything that connects here broke out of the network namespace.
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]

    def tearDown(self):
        try:
            conn, _ = self.listener.accept()
            conn.close()
            self.fail("a converter reached the network")
        except BlockingIOError:
            pass
        finally:
            self.listener.close()
            super().tearDown()

    def send(self, d, name, content):
        status, body = d.post_fax({"to": "100"}, [(name, content, "application/octet-stream")])
        self.assertEqual(status, 201, (name, body))
        return d.wait_final(body["id"])

    def fetch_pdf(self, d, job, name):
        pdf = os.path.join(self.tmp, name + ".pdf")
        d.cli("get", str(job["id"]), "-o", pdf)
        return pdf

    def test_healthz_names_the_sandbox(self):
        d = self.daemon()
        status, body = d.request("GET", "/api/v1/healthz", auth=False)
        self.assertEqual(status, 200)
        self.assertEqual(body["converter_sandbox"], EXPECTED_MODE, body)
        self.assertEqual(body["status"], "ok", body)

    def test_postscript_reads_no_server_file_and_reaches_no_network(self):
        if not shutil.which("gs") or not shutil.which("tesseract"):
            self.skipTest("Ghostscript or tesseract missing")
        d = self.daemon()
        self.add_device(d, "100")
        secret = os.path.join(d.data, "secret.key")
        self.assertTrue(os.path.exists(secret))
        ps = (PS_ATTACK.replace("(SECRET)", f"({secret})")
              .replace("(TOKEN)", f"({os.path.join(d.data, 'admin-token')})")
              .replace("PORT", str(self.port)))
        job = self.send(d, "attack.ps", ps.encode())
        # The reads failed inside the converter: the job is done with the one page that says so
        # (a leak would have added a second page).
        self.assertEqual(job["state"], "done", job)
        self.assertEqual(job["pages_total"], 1, job)
        text = ocr(self.fetch_pdf(d, job, "attack"), os.path.join(self.tmp, "attack"))
        self.assertGreaterEqual(text.count("DENIED"), 3, text)
        for leaked in ("LEAKED", "PIPED", "root:", d.token[:12]):
            self.assertNotIn(leaked, text)

    def test_html_cannot_show_files_by_path(self):
        d = self.daemon()
        self.add_device(d, "100")
        image = black_png(os.path.join(self.tmp, "black.png"))
        climb = "../" * 30
        html = (f'<html><head><link rel="stylesheet" href="{climb}etc/passwd"></head><body>'
                f'<p>Hello</p><img src="{image}" width="500"><img src="{climb}{image[1:]}" '
                f'width="500"><img src="file://{image}" width="500">'
                f'<img src="http://127.0.0.1:{self.port}/x.png" width="500"></body></html>')
        job = self.send(d, "mail.html", html.encode())
        self.assertEqual(job["state"], "done", job)
        pdf = self.fetch_pdf(d, job, "html")
        for page in page_images(pdf, os.path.join(self.tmp, "html")):
            self.assertLess(ink_share(page), 0.01, page)  # a black square would be ~15%

    def odt(self, image):
        """An ODT with a section linked to /etc/passwd, an image linked by its path and a Basic
        macro bound to the document's load event that would replace the text."""
        ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
              'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
              'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
              'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
              'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
              'xmlns:xlink="http://www.w3.org/1999/xlink" '
              'xmlns:ooo="http://openoffice.org/2004/office"')
        content = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {ns} office:version="1.2">
<office:scripts><office:event-listeners>
<script:event-listener script:language="ooo:script" script:event-name="dom:load"
 xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/>
</office:event-listeners></office:scripts>
<office:body><office:text>
<text:p>Quarterly report from the sandbox</text:p>
<text:section text:name="Linked"><text:section-source xlink:href="file:///etc/passwd" xlink:type="simple" text:filter-name="Text"/>
<text:p>placeholder</text:p></text:section>
<text:p><draw:frame draw:name="Picture" text:anchor-type="as-char" svg:width="12cm" svg:height="12cm">
<draw:image xlink:href="file://{image}" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p>
</office:text></office:body></office:document-content>
"""
        module = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">Sub Main
ThisComponent.Text.setString(&quot;MACRO RAN&quot;)
End Sub
</script:module>
"""
        library = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" library:passwordprotected="false">
 <library:element library:name="Module1"/>
</library:library>
"""
        libraries = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" library:link="false"/>
</library:libraries>
"""
        manifest = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="Basic/Standard/Module1.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="Basic/Standard/script-lb.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="Basic/script-lc.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
        path = os.path.join(self.tmp, "report.odt")
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
            z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
            z.writestr("Basic/Standard/Module1.xml", module, zipfile.ZIP_DEFLATED)
            z.writestr("Basic/Standard/script-lb.xml", library, zipfile.ZIP_DEFLATED)
            z.writestr("Basic/script-lc.xml", libraries, zipfile.ZIP_DEFLATED)
            z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        with open(path, "rb") as f:
            return f.read()

    def test_odt_links_and_macro_stay_out(self):
        if not shutil.which("soffice") or not shutil.which("tesseract"):
            self.skipTest("LibreOffice or tesseract missing")
        d = self.daemon()
        self.add_device(d, "100")
        image = black_png(os.path.join(self.tmp, "black.png"))
        job = self.send(d, "report.odt", self.odt(image))
        self.assertEqual(job["state"], "done", job)
        pdf = self.fetch_pdf(d, job, "odt")
        text = ocr(pdf, os.path.join(self.tmp, "odt-ocr"))
        self.assertIn("Quarterly", text)  # the document itself, not the macro's text
        for leaked in ("MACRO", "root:", "nologin"):
            self.assertNotIn(leaked, text)
        for page in page_images(pdf, os.path.join(self.tmp, "odt")):
            self.assertLess(ink_share(page), 0.05, page)  # no black square from the link

    def test_running_converter_is_isolated_and_dies_with_vfaxd(self):
        if not shutil.which("gs"):
            self.skipTest("Ghostscript missing")
        d = self.daemon()
        self.add_device(d, "100")
        status, body = d.post_fax({"to": "100"}, [("loop.ps", b"%!PS\n{ 1 pop } loop\n",
                                                   "application/postscript")])
        self.assertEqual(status, 201, body)
        vfaxd = d.proc.pid

        def converters():
            return converter_tree(vfaxd)
        gs, convert, tree = d.wait_for(converters, timeout=60, what="Ghostscript to run")
        own_net = os.readlink(f"/proc/{vfaxd}/ns/net")
        own_pid_ns = os.readlink(f"/proc/{vfaxd}/ns/pid")
        for pid in gs + convert:
            self.assertNotEqual(os.readlink(f"/proc/{pid}/ns/net"), own_net, cmdline(pid))
            self.assertEqual(status_field(pid, "NoNewPrivs"), ["1"], cmdline(pid))
            if os.geteuid() == 0:
                self.assertEqual(status_field(pid, "Uid"), ["65534"] * 4, cmdline(pid))
                self.assertEqual(status_field(pid, "Gid"), ["65534"] * 4, cmdline(pid))
        for pid in gs:  # Ghostscript (and anything it starts) in a PID namespace of its own
            self.assertNotEqual(os.readlink(f"/proc/{pid}/ns/pid"), own_pid_ns)
        self.assertEqual(d.fax(body["id"])["state"], "converting")

        code, _ = d.terminate()
        self.assertEqual(code, 0, d.log())
        self.assertEqual(survivors(tree), [])

        # The job was not failed by the stop: it is converted again after the next start. And
        # when that vfaxd is killed outright (no stop at all), its converters die with it.
        d2 = self.restart(d)
        self.assertIn(d2.fax(body["id"])["state"], ("queued", "converting"))
        vfaxd = d2.proc.pid
        _, _, tree = d2.wait_for(converters, timeout=60, what="Ghostscript to run again")
        d2.kill9()
        self.assertEqual(survivors(tree), [])

    def test_cancel_ends_the_converter(self):
        if not shutil.which("gs"):
            self.skipTest("Ghostscript missing")
        d = self.daemon()
        self.add_device(d, "100")
        status, body = d.post_fax({"to": "100"}, [("loop.ps", b"%!PS\n{ 1 pop } loop\n",
                                                   "application/postscript")])
        self.assertEqual(status, 201, body)
        _, _, tree = d.wait_for(lambda: converter_tree(d.proc.pid), timeout=60,
                                what="Ghostscript to run")
        d.cli("cancel", str(body["id"]))
        self.assertEqual(survivors(tree), [])
        self.assertEqual(d.fax(body["id"])["state"], "canceled")
        self.assertIsNone(d.proc.poll())


class WithoutLandlock(VfaxTestCase):
    """The kernel without Landlock, as VFAX_CONVERT_NO_LANDLOCK makes vfax-convert believe."""

    def daemon_without_landlock(self, config=None):
        os.environ["VFAX_CONVERT_NO_LANDLOCK"] = "1"
        try:
            return self.daemon(config)
        finally:
            del os.environ["VFAX_CONVERT_NO_LANDLOCK"]

    def test_documents_are_refused(self):
        d = self.daemon_without_landlock({"documents": {"allow_unsandboxed": False}})
        self.add_device(d, "100")
        status, body = d.request("GET", "/api/v1/healthz", auth=False)
        self.assertEqual(status, 200)
        self.assertEqual(body["converter_sandbox"], "unavailable", body)
        self.assertEqual(body["status"], "degraded", body)
        self.assertTrue(any("Landlock" in r and "allow_unsandboxed" in r for r in body["reasons"]), body)
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 1)
        with open(pdf, "rb") as f:
            content = f.read()
        status, err = d.post_fax({"to": "100"}, [("doc.pdf", content, "application/pdf")])
        self.assertEqual(status, 503, err)
        self.assertEqual(err["error"]["code"], "sandbox_unavailable", err)
        # Plain text is accepted without a child (nothing to parse), then its conversion refuses.
        status, job = d.post_fax({"to": "100"}, [("note.txt", b"hello\n", "text/plain")])
        self.assertEqual(status, 201, job)
        job = d.wait_final(job["id"])
        self.assertEqual(job["state"], "failed", job)
        self.assertIn("Landlock", job["error"], job)

    def test_allowed_by_config(self):
        d = self.daemon_without_landlock({"documents": {"allow_unsandboxed": True}})
        self.add_device(d, "100")
        status, body = d.request("GET", "/api/v1/healthz", auth=False)
        self.assertEqual(body["converter_sandbox"], "unsandboxed (allowed by config)", body)
        self.assertEqual(body["status"], "ok", body)
        pdf = make_pdf(os.path.join(self.tmp, "doc.pdf"), 1)
        with open(pdf, "rb") as f:
            content = f.read()
        status, job = d.post_fax({"to": "100"}, [("doc.pdf", content, "application/pdf")])
        self.assertEqual(status, 201, job)
        self.assertEqual(d.wait_final(job["id"])["state"], "done")


if __name__ == "__main__":
    unittest.main()
