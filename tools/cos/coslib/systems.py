"""Composed systems (system_binaries/<name>/) and `cos compose`.

The composer writes system_binaries/<name>/{kernel.elf, *.elf, manifest.bin,
grub.cfg, system.json, cos.iso}; system.json is
{"name", "script", "memory_mib", "kernel", "components": [{"name", "image",
"constructor"}]}. `cos run` also leaves its logs in that directory.
"""

import json
import os
import re
from pathlib import Path

from . import build as buildmod
from . import guest as guestmod
from .common import (REPO, SCRIPTS_DIR, SYSTEMS_DIR, CosError, composer_binary,
                     images_dir, info, kernel_image, newest_mtime, rel, run_command,
                     warn)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DEFAULT_MEMORY_MIB = 256


def check_name(name):
    """Reject system names that are not plain directory names (exit status 2)."""
    if not NAME_RE.match(name or ""):
        raise CosError("invalid system name '%s' (use letters, digits, '.', '_', '-')"
                       % name, status=2)


SYSTEM_NAME_RE = re.compile(r'^\s*\[system\]\s*$(?:(?!^\s*\[).)*?^\s*name\s*=\s*"([^"]*)"',
                            re.M | re.S)


def script_system_name(script):
    """The [system] name a composition script declares (None if unreadable)."""
    try:
        m = SYSTEM_NAME_RE.search(Path(script).read_text(errors="replace"))
    except OSError:
        return None
    return m.group(1) if m else None


def available_systems():
    """(composed, scripts): names under system_binaries/ and composition_scripts/
    (a script whose [system] name differs from its file name shows both)."""
    composed = sorted(p.name for p in SYSTEMS_DIR.glob("*") if p.is_dir())
    scripts = []
    for p in sorted(SCRIPTS_DIR.glob("*.toml")):
        declared = script_system_name(p)
        scripts.append(p.stem if declared in (None, p.stem) else "%s (%s.toml)" % (declared, p.stem))
    return composed, scripts


def describe_available():
    """A short human-readable list of the systems one can run."""
    composed, scripts = available_systems()
    lines = ["composed (system_binaries/): " + (", ".join(composed) or "none"),
             "scripts (composition_scripts/*.toml): " + (", ".join(scripts) or "none")]
    return "\n  ".join(lines)


def missing_name_error(what="a system name"):
    """The error for a command that needs a system name but got none."""
    return CosError("missing %s; available systems:\n  %s" % (what, describe_available()),
                    status=2)


#: Printed by a component that starts reading the console (simple_vmm).
INPUT_READY_MARKER = "cos: console input ready"


class System:
    """A composed system in system_binaries/<name>/."""

    def __init__(self, name):
        check_name(name)
        self.name = name
        self.dir = SYSTEMS_DIR / name
        self.iso = self.dir / "cos.iso"
        self.json_path = self.dir / "system.json"
        self._meta = None

    @property
    def default_script(self):
        """composition_scripts/<name>.toml, or else the one script there whose
        [system] name is <name> (simple_vmm.toml declares "vm"); may not exist."""
        script = SCRIPTS_DIR / (self.name + ".toml")
        if not script.is_file():
            named = [p for p in sorted(SCRIPTS_DIR.glob("*.toml"))
                     if script_system_name(p) == self.name]
            if len(named) == 1:
                return named[0]
        return script

    def exists(self):
        return self.dir.is_dir()

    def meta(self):
        """The parsed system.json ({} when absent or unreadable)."""
        if self._meta is None:
            try:
                self._meta = json.loads(self.json_path.read_text())
                if not isinstance(self._meta, dict):
                    raise ValueError("not a JSON object")
            except FileNotFoundError:
                self._meta = {}
            except (OSError, ValueError) as e:
                warn("cannot read %s: %s" % (rel(self.json_path), e))
                self._meta = {}
        return self._meta

    def recorded_script(self):
        """The composition script recorded in system.json, if it still exists."""
        script = self.meta().get("script")
        if isinstance(script, str) and script:
            path = Path(script)
            if not path.is_absolute():
                path = REPO / path
            if path.is_file():
                return path
        return None

    def input_ready_marker(self):
        """The console line after which piped/typed input may be sent, or None
        for "the first line of output". Systems with a VMM guest wait for the
        VMM's `cos: console input ready`: before that nothing drains the
        serial port, and Bochs (no flow control) drops what overflows its
        16-byte FIFO."""
        comps = self.meta().get("components")
        if isinstance(comps, list) and any(isinstance(c, dict) and c.get("guest") for c in comps):
            return INPUT_READY_MARKER
        return None

    def memory_mib(self):
        """Guest RAM in MiB from system.json (default 256 with a warning)."""
        mib = self.meta().get("memory_mib")
        if isinstance(mib, int) and mib > 0:
            return mib
        warn("%s has no memory_mib; using %d MiB" % (rel(self.json_path),
                                                      DEFAULT_MEMORY_MIB))
        return DEFAULT_MEMORY_MIB

    def kernel_elf(self):
        """The kernel ELF inside the system directory."""
        kernel = self.meta().get("kernel")
        if isinstance(kernel, str) and kernel:
            path = Path(kernel)
            if not path.is_absolute():
                path = self.dir / path.name
            return path
        return self.dir / "kernel.elf"

    def component_images(self):
        """[(component name, ELF path)] for every component in system.json."""
        result = []
        for comp in self.meta().get("components") or []:
            if not isinstance(comp, dict):
                continue
            cname = str(comp.get("name", "?"))
            image = comp.get("image")
            candidates = []
            if isinstance(image, str) and image:
                candidates.append(self.dir / Path(image).name)
                if not image.endswith(".elf"):
                    candidates.append(self.dir / (Path(image).name + ".elf"))
            candidates.append(self.dir / (cname + ".elf"))
            path = next((c for c in candidates if c.is_file()), candidates[0])
            result.append((cname, path))
        return result


def compose(script, name, cwd=None, stdout_to_stderr=False, build_first=True):
    """Build (incrementally) and run the composer; return its exit status.

    `script` is passed to the composer as given, run from `cwd` (the user's
    directory), so its `file:line:col: error:` messages name the file the way
    the user typed it.
    """
    check_name(name)
    script = Path(script)
    base = Path(cwd) if cwd else Path.cwd()
    if not (base / script).is_file():
        raise CosError("composition script %s not found" % script, status=2)
    if build_first:
        buildmod.build(stdout_to_stderr=stdout_to_stderr)
    composer = composer_binary()
    if not composer.is_file():
        raise CosError("the build did not produce the composer (%s)" % rel(composer))
    SYSTEMS_DIR.mkdir(parents=True, exist_ok=True)
    argv = [composer, script, SYSTEMS_DIR / name, "--images", images_dir(),
            "--kernel", kernel_image()]
    # Guests: fetch the Debian kernel / build the default initramfs if used.
    argv += guestmod.prepare_for_script(base / script, name)[0]
    return run_command(argv, cwd=base, stdout_to_stderr=stdout_to_stderr)


def compose_for_run(system, script, reason=None):
    """Compose `system` from `script` as a step of `cos run`, with one-line progress.

    The caller has already brought the build up to date.
    """
    if reason:
        info(reason)
    info("composing %s -> %s" % (rel(script), rel(system.dir)))
    rc = compose(os.path.relpath(script, REPO), system.name, cwd=REPO,
                 stdout_to_stderr=True, build_first=False)
    if rc != 0:
        raise CosError("composing %s failed (composer exit status %d)"
                       % (rel(script), rc), status=rc)
    system._meta = None


def prepare_for_run(name):
    """Make system_binaries/<name> exist and be up to date before booting it.

    Missing system with composition_scripts/<name>.toml: initialise, build and
    compose (the package check has already run). Existing system: rebuild if
    Ninja has work to do, and recompose if the build products or the recorded
    script are newer than cos.iso.
    """
    system = System(name)
    if not system.exists():
        script = system.default_script
        if not script.is_file():
            raise CosError("no system '%s': neither %s nor %s exists; available:\n  %s"
                           % (name, rel(system.dir), rel(script), describe_available()),
                           status=2)
        buildmod.ensure_initialised(stdout_to_stderr=True)
        info("building...")
        buildmod.build(stdout_to_stderr=True)
        compose_for_run(system, script)
        return system

    script = system.recorded_script() or (
        system.default_script if system.default_script.is_file() else None)
    if not system.iso.is_file():
        if script is None:
            raise CosError("%s has no cos.iso and no composition script to rebuild it "
                           "from; run 'cos compose <script.toml> %s'"
                           % (rel(system.dir), name), status=2)
        info("building...")
        buildmod.build(stdout_to_stderr=True)
        compose_for_run(system, script, "%s is missing" % rel(system.iso))
        return system

    if not buildmod.is_initialised():
        return system  # a system composed elsewhere: boot it as it is
    if buildmod.build_is_stale():
        info("sources changed since the last build; building...")
        buildmod.build(stdout_to_stderr=True)
    iso_time = system.iso.stat().st_mtime
    stale = None
    guest_files = guestmod.prepare_for_script(script, name)[1] if script is not None else []
    if newest_mtime(buildmod.build_outputs()) > iso_time:
        stale = "the build is newer than %s" % rel(system.iso)
    elif script is not None and newest_mtime([script]) > iso_time:
        stale = "%s is newer than %s" % (rel(script), rel(system.iso))
    elif newest_mtime(guest_files) > iso_time:
        stale = "a guest image is newer than %s" % rel(system.iso)
    if stale:
        if script is None:
            warn(stale + ", but no composition script is recorded; booting it as it is")
        else:
            compose_for_run(system, script, stale + "; recomposing")
    return system


def cmd_compose(args):
    """`cos compose <script.toml> <name>`: pass the composer's status through."""
    if not args.script:
        raise CosError("missing composition script; scripts in %s: %s"
                       % (rel(SCRIPTS_DIR), ", ".join(available_systems()[1]) or "none"),
                       status=2)
    if not args.name:
        raise CosError("missing system name (the output goes to system_binaries/<name>)",
                       status=2)
    rc = compose(args.script, args.name)
    if rc == 0:
        info("composed %s" % rel(SYSTEMS_DIR / args.name))
    return rc
