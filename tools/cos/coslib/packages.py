"""Debian package check and installation (`cos setup`).

The package list lives in tools/cos/packages.txt. `cos setup` installs the
missing ones; every other command calls `ensure_packages()` first, which is
silent when nothing is missing.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .common import CosError, info, quote_cmd

PACKAGE_LIST = Path(__file__).resolve().parent.parent / "packages.txt"


def required_packages():
    """The package names from packages.txt, in file order."""
    names = []
    for line in PACKAGE_LIST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def missing_packages(names):
    """The subset of `names` that dpkg does not report as installed.

    Returns None when dpkg-query is unavailable (not a Debian-like host).
    """
    if shutil.which("dpkg-query") is None:
        return None
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\t${Status}\n"] + list(names),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    installed = set()
    for line in proc.stdout.splitlines():
        pkg, _, status = line.partition("\t")
        if status.strip() == "install ok installed":
            installed.add(pkg.split(":", 1)[0])
    return [n for n in names if n not in installed]


def install_command(names):
    """The apt-get command line that installs `names`."""
    return ["apt-get", "install", "-y", "--no-install-recommends"] + list(names)


def install(names, stdout_to_stderr=False):
    """Install `names` with apt-get (as root): `apt-get update`, then install."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    stdout = sys.stderr.fileno() if stdout_to_stderr else None
    for argv in (["apt-get", "update"], install_command(names)):
        info("running: " + quote_cmd(argv))
        sys.stdout.flush()
        rc = subprocess.call(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout)
        if rc != 0:
            raise CosError("'%s' failed with exit status %d" % (quote_cmd(argv), rc))


def ensure_packages(explicit=False, stdout_to_stderr=False):
    """Make sure every required package is installed.

    Silent when nothing is missing (unless `explicit`, i.e. `cos setup`).
    When something is missing: as root, install it; otherwise print the exact
    sudo command and fail with exit status 1.
    """
    names = required_packages()
    missing = missing_packages(names)
    if missing is None:
        if explicit:
            info("dpkg-query not found: this is not a Debian-like system; install "
                 "these packages (or their equivalents) yourself: " + " ".join(names))
        return
    if not missing:
        if explicit:
            info("all %d required packages are installed" % len(names))
        return
    info("missing Debian packages: " + " ".join(missing))
    if os.geteuid() != 0:
        raise CosError("not running as root; install them with:\n  sudo "
                       + quote_cmd(install_command(missing)))
    install(missing, stdout_to_stderr=stdout_to_stderr)
    still = missing_packages(missing) or []
    if still:
        raise CosError("packages still missing after apt-get: " + " ".join(still))
    info("installed: " + " ".join(missing))


def cmd_setup(args):
    """`cos setup`: install every missing Debian package."""
    ensure_packages(explicit=True)
    return 0
