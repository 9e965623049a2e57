#!/usr/bin/env python3
"""kubernetes.py SRCDIR - parses every YAML manifest of contrib/kubernetes/
and checks what a cluster would only tell at run time: the kinds, the
controller's port and the Service reaching it, the agents pointed at that
Service, every key path of the command lines on a mounted volume, the
secret keys copied mode 0600 from Secrets, non-root security contexts that
meet the restricted Pod Security Standard, the writable folders mited
needs under a read-only root, the same uid as the Dockerfile's, and each
Secret created in the README. With kubectl installed, `kubectl kustomize`
must render the same objects. One PASS:/FAIL: line per check."""
import glob
import os
import re
import shutil
import subprocess
import sys

NAME = "kubernetes"
SRC = sys.argv[1]
DIR = os.path.join(SRC, "contrib", "kubernetes")
fails = 0


def check(desc, ok, why=""):
    global fails
    print("%s: %s: %s%s" % ("PASS" if ok else "FAIL", NAME, desc, "" if ok or not why else " (%s)" % why))
    fails += 0 if ok else 1


try:
    import yaml
except ImportError:
    print("FAIL: %s: python3's yaml module is needed (Debian package python3-yaml; quickstart.sh installs it)" % NAME)
    sys.exit(1)

# 1. Every file parses; every object has apiVersion, kind and a name.
objs = {}
files = sorted(glob.glob(os.path.join(DIR, "*.yaml")))
check("contrib/kubernetes holds manifests (%d files)" % len(files), len(files) >= 4)
for f in files:
    try:
        docs = [d for d in yaml.safe_load_all(open(f)) if d is not None]
    except yaml.YAMLError as e:
        check("%s parses" % os.path.basename(f), False, str(e).replace("\n", " "))
        continue
    bad = [d for d in docs if not (isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
                                   and (d.get("kind") == "Kustomization" or d.get("metadata", {}).get("name")))]
    check("%s parses (%d objects, each with apiVersion, kind and name)" % (os.path.basename(f), len(docs)),
          docs and not bad)
    for d in docs:
        if d.get("kind") != "Kustomization":
            objs[(d["kind"], d["metadata"]["name"])] = d
        else:
            kust = d

want = {("Namespace", "mite"), ("Deployment", "mite-controller"), ("Service", "mite-controller"),
        ("Deployment", "mite-agent")}
check("the kinds: %s" % sorted(objs), want <= set(objs), "missing %s" % sorted(want - set(objs)))
if not want <= set(objs):
    sys.exit(1)
listed = set(kust.get("resources", []))
others = {os.path.basename(f) for f in files} - {"kustomization.yaml"}
check("kustomization.yaml lists every other manifest", listed == others, "%s vs %s" % (sorted(listed), sorted(others)))
check("every object is in the namespace mite",
      all(o["metadata"].get("namespace") == "mite" for k, o in objs.items() if k[0] != "Namespace"))

ctl, agents, svc = objs[("Deployment", "mite-controller")], objs[("Deployment", "mite-agent")], \
    objs[("Service", "mite-controller")]


def pod(dep):
    return dep["spec"]["template"]["spec"]


def containers(dep):
    return pod(dep).get("initContainers", []) + pod(dep)["containers"]


def arg(c, name):
    a = c.get("args", [])
    return a[a.index(name) + 1] if name in a and a.index(name) + 1 < len(a) else None


# 2. The controller, its port and its Service.
cc = pod(ctl)["containers"][0]
check("one controller, replaced (Recreate) rather than doubled",
      ctl["spec"]["replicas"] == 1 and ctl["spec"].get("strategy", {}).get("type") == "Recreate")
listen = arg(cc, "--listen")
check("the controller listens on tcp://0.0.0.0:14301 (%s)" % listen, listen == "tcp://0.0.0.0:14301")
ports = {p.get("name"): p["containerPort"] for p in cc.get("ports", [])}
check("... and declares the port (%s)" % ports, 14301 in ports.values())
check("... with a key and an authorized-keys folder",
      arg(cc, "--key") is not None and arg(cc, "--authorized-keys") is not None)
sel = svc["spec"]["selector"]
plabels = ctl["spec"]["template"]["metadata"]["labels"]
check("the Service selects the controller's pods, not the agents'",
      sel.items() <= plabels.items() and ctl["spec"]["selector"]["matchLabels"].items() <= plabels.items()
      and not sel.items() <= agents["spec"]["template"]["metadata"]["labels"].items())
sp = svc["spec"]["ports"]
check("the Service's port 14301 reaches the controller's",
      len(sp) == 1 and sp[0]["port"] == 14301 and sp[0].get("protocol", "TCP") == "TCP"
      and (sp[0]["targetPort"] == 14301 or ports.get(sp[0]["targetPort"]) == 14301))

# 3. The agents: a fleet, pointed at that Service.
ac = pod(agents)["containers"][0]
check("the agents' replica count is the fleet size (%s)" % agents["spec"].get("replicas"),
      isinstance(agents["spec"].get("replicas"), int) and agents["spec"]["replicas"] >= 1)
ep = arg(ac, "--agent")
check("the agents connect to the Service (%s)" % ep,
      ep in ("tcp://%s:14301" % svc["metadata"]["name"], "tcp://%s.mite.svc:14301" % svc["metadata"]["name"],
             "tcp://%s.mite.svc.cluster.local:14301" % svc["metadata"]["name"]))
check("... with a key and the controller's public key",
      arg(ac, "--key") is not None and arg(ac, "--server-key") is not None)
check("the agents' pods do not match the controller's selector",
      not ctl["spec"]["selector"]["matchLabels"].items() <= agents["spec"]["template"]["metadata"]["labels"].items())


# 4. Keys: every path on the command lines is on a volume; secret keys are
# copied 0600 from a Secret into a memory-backed emptyDir by an init
# container; each Secret is created in the README.
def volume_of(dep, c, path):
    """The volume a path of container c is on: (volume, mount), or None."""
    best = None
    for m in c.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and (best is None or len(mp) > len(best[1]["mountPath"])):
            vol = [v for v in pod(dep)["volumes"] if v["name"] == m["name"]]
            best = (vol[0] if vol else None, m)
    return best


readme = open(os.path.join(DIR, "README.md")).read()
secrets = set()
for dep, c, opts in ((ctl, cc, ("--key", "--authorized-keys")), (agents, ac, ("--key", "--server-key"))):
    who = dep["metadata"]["name"]
    for o in opts:
        p = arg(c, o)
        vm = volume_of(dep, c, p)
        check("%s %s %s is on a volume mounted read-only" % (who, o, p),
              vm is not None and vm[0] is not None and vm[1].get("readOnly") is True)
        if not vm or not vm[0]:
            continue
        v = vm[0]
        if o == "--key":
            inits = [i for i in pod(dep).get("initContainers", [])
                     if any(m["name"] == v["name"] for m in i.get("volumeMounts", []))]
            cmd = inits[0].get("command", []) if inits else []
            srcvm = volume_of(dep, inits[0], cmd[-2]) if len(cmd) >= 2 else None
            check("%s: the secret key is copied 0600 into a memory-backed emptyDir by an init container" % who,
                  v.get("emptyDir", {}).get("medium") == "Memory" and cmd[:3] == ["install", "-m", "0600"]
                  and os.path.dirname(cmd[-1]) == os.path.dirname(p)
                  and os.path.basename(cmd[-1]) == os.path.basename(p)
                  and srcvm is not None and srcvm[0] is not None and "secret" in srcvm[0])
            if srcvm and srcvm[0] and "secret" in srcvm[0]:
                s = srcvm[0]["secret"]
                secrets.add(s["secretName"])
                check("%s: ... from Secret %s, not world-readable (mode %o)" % (who, s["secretName"],
                                                                                  s.get("defaultMode", 0o644)),
                      s.get("defaultMode", 0o644) & 0o007 == 0)
        else:
            check("%s %s comes from a Secret" % (who, o), "secret" in v)
            if "secret" in v:
                secrets.add(v["secret"]["secretName"])
for s in sorted(secrets):
    check("the README creates Secret %s" % s, re.search(r"create secret generic %s " % re.escape(s), readme) is not None)
check("four Secrets (%s)" % sorted(secrets), len(secrets) == 4)

# 5. Security contexts: non-root, the Dockerfile's uid, the restricted
# profile for every container, init containers too.
m = re.search(r"^USER (\d+)", open(os.path.join(SRC, "Dockerfile")).read(), re.M)
duid = int(m.group(1)) if m else None
for dep in (ctl, agents):
    who = dep["metadata"]["name"]
    ps = pod(dep).get("securityContext", {})
    check("%s: pod runs as non-root uid %s (the Dockerfile's USER %s)" % (who, ps.get("runAsUser"), duid),
          ps.get("runAsNonRoot") is True and ps.get("runAsUser") not in (None, 0) and ps.get("runAsUser") == duid)
    check("%s: seccomp RuntimeDefault, no service account token" % who,
          ps.get("seccompProfile", {}).get("type") == "RuntimeDefault"
          and pod(dep).get("automountServiceAccountToken") is False)
    for c in containers(dep):
        sc = c.get("securityContext", {})
        check("%s/%s: no privilege escalation, no capabilities, read-only root, not privileged" % (who, c["name"]),
              sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities", {}).get("drop") == ["ALL"]
              and not sc.get("capabilities", {}).get("add") and sc.get("readOnlyRootFilesystem") is True
              and not sc.get("privileged") and sc.get("runAsUser", ps.get("runAsUser")) != 0)
    c = pod(dep)["containers"][0]
    for path in ("/run/mite", "/var/lib/mite", "/tmp"):
        vm = volume_of(dep, c, path)
        check("%s: %s is a writable volume" % (who, path),
              vm is not None and vm[0] is not None and not vm[1].get("readOnly"))
    check("%s: the image is mite's" % who, all(re.match(r"^mite(:|$)", c["image"]) for c in containers(dep)))
check("the namespace enforces the restricted Pod Security Standard",
      objs[("Namespace", "mite")]["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
      == "restricted")

# 6. kubectl kustomize, where kubectl is installed (it needs no cluster).
kubectl = shutil.which("kubectl")
if kubectl:
    r = subprocess.run([kubectl, "kustomize", DIR], capture_output=True, text=True, timeout=60)
    got = set()
    if r.returncode == 0:
        got = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(r.stdout) if d}
    check("kubectl kustomize renders the same objects", r.returncode == 0 and got == set(objs),
          r.stderr.strip()[:200] or "%s vs %s" % (sorted(got), sorted(objs)))
else:
    print("NOTE: %s: kubectl is not installed: kustomization.yaml not rendered" % NAME)
sys.exit(1 if fails else 0)
