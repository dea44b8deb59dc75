"""Composed systems (system_binaries/<name>/) and `cos compose`.

The composer writes system_binaries/<name>/{kernel.elf, *.elf, manifest.bin,
grub.cfg, system.json, cos.iso}; system.json is
{"name", "script", "memory_mib", "kernel", "components": [{"name", "image",
"constructor"}]}. `cos run` also leaves its logs in that directory.
"""

import json
import os
import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

from . import build as buildmod
from . import guest as guestmod
from .steplog import StepLog
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


def script_system_name(script):
    """The `[system] name` a composition script declares, or None when the file
    cannot be read or parsed as TOML or has no such string (the composer then
    says what is wrong with it)."""
    try:
        with open(script, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    system = data.get("system")
    name = system.get("name") if isinstance(system, dict) else None
    return name if isinstance(name, str) else None


def script_files():
    """Every composition script: composition_scripts/*.toml, sorted."""
    return sorted(p for p in SCRIPTS_DIR.glob("*.toml") if p.is_file())


def available_systems():
    """(composed, scripts): names under system_binaries/ and composition_scripts/
    (a script whose [system] name differs from its file name shows both)."""
    composed = sorted(p.name for p in SYSTEMS_DIR.glob("*") if p.is_dir()
                      and not p.name.startswith("."))
    scripts = []
    for p in script_files():
        declared = script_system_name(p)
        scripts.append(p.stem if declared in (None, p.stem) else "%s (%s.toml)" % (declared, p.stem))
    return composed, scripts


def describe_scripts():
    """The scripts in composition_scripts/ as "a.toml (system a), ..." for messages."""
    items = []
    for p in script_files():
        declared = script_system_name(p)
        items.append(p.name if declared in (None, p.stem)
                     else "%s (system %s)" % (p.name, declared))
    return ", ".join(items) or "none"


def resolve_script(spec, cwd=None):
    """The composition script that `spec` (as typed after `cos compose`) names.

    Tried in order: `spec` as a path (relative to `cwd`, default the current
    directory); composition_scripts/<spec>; composition_scripts/<spec>.toml.
    Returns the script as the composer should be given it: relative to `cwd`
    when it lies below it (so diagnostics name it the way the user would),
    else absolute. Raises CosError (status 2) naming the scripts that exist
    when nothing matches, or when both composition_scripts/<spec> and
    composition_scripts/<spec>.toml exist (ambiguous).
    """
    base = Path(cwd) if cwd else Path.cwd()
    if not spec:
        raise CosError("missing composition script; scripts in %s: %s"
                       % (rel(SCRIPTS_DIR), describe_scripts()), status=2)
    as_path = base / spec
    if as_path.is_file():
        return Path(spec)
    found = []
    if not Path(spec).is_absolute():
        candidates = [SCRIPTS_DIR / spec]
        if not spec.endswith(".toml"):
            candidates.append(SCRIPTS_DIR / (spec + ".toml"))
        found = [c for c in candidates if c.is_file()]
    if len(found) > 1:
        raise CosError("composition script '%s' is ambiguous: both %s exist; give the "
                       "file name or a path" % (spec, " and ".join(rel(f) for f in found)),
                       status=2)
    if found:
        script = found[0].resolve()
        try:
            return script.relative_to(base.resolve())
        except ValueError:
            return script
    if spec.endswith(".toml"):
        where = "%s/ has no %s" % (rel(SCRIPTS_DIR), spec)
    else:
        where = "%s/ has neither %s nor %s.toml" % (rel(SCRIPTS_DIR), spec, spec)
    what = "a directory" if as_path.is_dir() else "no such file"
    hint = ""
    named = [p for p in script_files() if script_system_name(p) == Path(spec).stem]
    if len(named) == 1:
        hint = " (system '%s' is declared by %s)" % (Path(spec).stem, named[0].name)
    raise CosError("no composition script '%s': %s here, and %s%s; scripts there: %s"
                   % (spec, what, where, hint, describe_scripts()), status=2)


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
            named = [p for p in script_files() if script_system_name(p) == self.name]
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

    def recorded_overrides(self):
        """The `--set` overrides system.json records (cos compose --set), to
        apply again when the system is recomposed."""
        overrides = self.meta().get("overrides")
        if isinstance(overrides, list) and all(isinstance(o, str) for o in overrides):
            return list(overrides)
        return []

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
        return INPUT_READY_MARKER if self.input_ready_count() else None

    def input_ready_count(self):
        """How many `cos: console input ready` lines to wait for: one per VMM
        with a guest (each binds the console; input typed before the last one
        bound could not be moved to it with Ctrl-A <n>)."""
        comps = self.meta().get("components")
        if not isinstance(comps, list):
            return 0
        return sum(1 for c in comps if isinstance(c, dict) and c.get("guest"))

    def memory_mib(self):
        """Guest RAM in MiB from system.json (default 256 with a warning)."""
        mib = self.meta().get("memory_mib")
        if isinstance(mib, int) and mib > 0:
            return mib
        warn("%s has no memory_mib; using %d MiB" % (rel(self.json_path),
                                                      DEFAULT_MEMORY_MIB))
        return DEFAULT_MEMORY_MIB

    def cpus(self):
        """Emulated CPUs from system.json (`[system] cpus`; 1 when absent)."""
        cpus = self.meta().get("cpus")
        return cpus if isinstance(cpus, int) and cpus > 0 else 1

    def kernel_elf(self):
        """The kernel ELF inside the system directory."""
        kernel = self.meta().get("kernel")
        if isinstance(kernel, str) and kernel:
            path = Path(kernel)
            if not path.is_absolute():
                path = self.dir / path.name
            return path
        return self.dir / "kernel.elf"

    def kernel_bin(self):
        """kernel.bin beside the kernel ELF: the image flattened from its
        physical load address (objcopy -O binary), which QEMU's -kernel loads
        as a multiboot v1 kernel through the header's load addresses (it
        loads no ELF64 kernel). Made again when the ELF is newer."""
        elf = self.kernel_elf()
        out = elf.with_suffix(".bin")
        if out.is_file() and out.stat().st_mtime >= elf.stat().st_mtime:
            return out
        tmp = out.with_suffix(".bin.tmp")
        r = subprocess.run(["objcopy", "-O", "binary", str(elf), str(tmp)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise CosError("objcopy -O binary %s failed: %s" % (rel(elf), r.stdout.strip()))
        os.replace(tmp, out)
        return out

    def boot_modules(self):
        """[(path, name)] of the boot modules, in grub.cfg's order (its
        `module2 [--nounzip] /boot/<file> <name>` lines: the composer's list)."""
        cfg = self.dir / "grub.cfg"
        try:
            lines = cfg.read_text().splitlines()
        except OSError as e:
            raise CosError("cannot read %s: %s" % (rel(cfg), e.strerror))
        mods = []
        for line in lines:
            words = [w for w in line.split() if w != "--nounzip"]
            if len(words) >= 3 and words[0] == "module2" and words[1].startswith("/boot/"):
                mods.append((self.dir / words[1][len("/boot/"):], " ".join(words[2:])))
        if not mods:
            raise CosError("%s names no boot modules" % rel(cfg))
        return mods

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


def composer_argv(script, name, base, overrides=()):
    """The composer command line for `script` (as given, relative to `base`)
    into system_binaries/<name> with the `--set TARGET.KEY=VALUE` overrides,
    after fetching and building the guest images the script uses
    (guest.prepare_for_script)."""
    argv = [composer_binary(), script, SYSTEMS_DIR / name, "--images", images_dir(),
            "--kernel", kernel_image()]
    for o in overrides:
        argv += ["--set", o]
    return argv + guestmod.prepare_for_script(base / script, name)[0]


def compose(script, name, cwd=None, stdout_to_stderr=False, build_first=True, overrides=()):
    """Build (incrementally) what `script` needs and run the composer; return
    its exit status.

    `script` is passed to the composer as given, run from `cwd` (the user's
    directory), so its `file:line:col: error:` messages name the file the way
    the user typed it. The build covers the kernel, the composer and the
    images the script names (build.script_targets), or everything when that
    cannot be told. `overrides` go to the composer as `--set` (they are
    checked like the script's own keys and recorded in system.json, so
    `cos run` recomposes with them).
    """
    check_name(name)
    script = Path(script)
    base = Path(cwd) if cwd else Path.cwd()
    if not (base / script).is_file():
        raise CosError("composition script %s not found" % script, status=2)
    if build_first:
        buildmod.ensure_initialised(stdout_to_stderr=stdout_to_stderr)
        buildmod.build(stdout_to_stderr=stdout_to_stderr,
                       targets=buildmod.script_targets(base / script))
    composer = composer_binary()
    if not composer.is_file():
        raise CosError("the build did not produce the composer (%s)" % rel(composer))
    SYSTEMS_DIR.mkdir(parents=True, exist_ok=True)
    argv = composer_argv(script, name, base, overrides)
    return run_command(argv, cwd=base, stdout_to_stderr=stdout_to_stderr)


def compose_for_run(system, script, reason=None, steps=None):
    """Compose `system` from `script` as a step of `cos run` (or `cos bench`).

    The caller has already brought the build up to date. With `steps` (a
    StepLog) the guest images and the composer are quiet steps with one
    line each; otherwise one `cos:` line and the composer's output on stderr.
    """
    if steps is None:
        if reason:
            info(reason)
        info("composing %s -> %s" % (rel(script), rel(system.dir)))
        rc = compose(os.path.relpath(script, REPO), system.name, cwd=REPO,
                     stdout_to_stderr=True, build_first=False,
                     overrides=system.recorded_overrides())
        if rc != 0:
            raise CosError("composing %s failed (composer exit status %d)"
                           % (rel(script), rc), status=rc)
    else:
        if reason:
            steps.write("cos: %s\n" % reason)
        SYSTEMS_DIR.mkdir(parents=True, exist_ok=True)
        with steps.step("guest images"):
            argv = composer_argv(os.path.relpath(script, REPO), system.name, REPO,
                                 system.recorded_overrides())
        steps.run("composing %s -> %s" % (rel(script), rel(system.dir)), argv)
    system._meta = None


def run_log_path(name):
    """Where `cos run <name>` logs its build and compose steps."""
    return buildmod.build_dir() / "logs" / ("run-%s.log" % name)


def prepare_for_run(name):
    """Make system_binaries/<name> exist and be up to date before booting it,
    quietly: configure, build, guest images and compose are steps with one
    progress line each and their output in build/x86_64/logs/run-<name>.log
    (printed, its tail, when a step fails).

    Only what the system needs is built: the kernel, the composer and the
    images its script names (build.script_targets), not the unit tests.
    Missing system with a script for it (composition_scripts/<name>.toml, or
    the one script whose [system] name is <name>): configure if needed, build,
    compose. Existing system: build (a no-op, and silent, when Ninja has
    nothing to do for it) and recompose if those build products, its
    recorded script or its guest images are newer than cos.iso. The package
    check has already run.
    """
    system = System(name)
    exists = system.exists()
    script = (system.recorded_script() if exists else None) or (
        system.default_script if system.default_script.is_file() else None)
    if not exists and script is None:
        raise CosError("no system '%s': neither %s nor %s exists; available:\n  %s"
                       % (name, rel(system.dir), rel(system.default_script),
                          describe_available()), status=2)
    if exists and not system.iso.is_file() and script is None:
        raise CosError("%s has no cos.iso and no composition script to rebuild it "
                       "from; run 'cos compose <script.toml> %s'"
                       % (rel(system.dir), name), status=2)
    if exists and system.iso.is_file() and not buildmod.is_initialised():
        return system  # a system composed elsewhere: boot it as it is

    with StepLog(run_log_path(name)) as steps:
        if not buildmod.is_initialised():
            with buildmod.build_lock():
                steps.run("configuring %s" % rel(buildmod.build_dir()), buildmod.init_argv())
            buildmod.link_compile_commands()
        targets = buildmod.script_targets(script) if script is not None else None
        what = "building %s" % buildmod.describe_targets(targets)
        if not (exists and system.iso.is_file()):
            with buildmod.build_lock():
                steps.run(what, buildmod.build_argv(targets=targets))
            compose_for_run(system, script, None if not exists else
                            "%s is missing" % rel(system.iso), steps=steps)
            return system
        with buildmod.build_lock():  # silent when Ninja has nothing to do
            steps.run(what, buildmod.build_argv(targets=targets))
        iso_time = system.iso.stat().st_mtime
        guest_files = []
        if script is not None:
            with steps.step("guest images"):
                guest_files = guestmod.prepare_for_script(script, name)[1]
        stale = None
        if newest_mtime(buildmod.build_outputs(targets=targets)) > iso_time:
            stale = "the build is newer than %s" % rel(system.iso)
        elif script is not None and newest_mtime([script]) > iso_time:
            stale = "%s is newer than %s" % (rel(script), rel(system.iso))
        elif newest_mtime(guest_files) > iso_time:
            stale = "a guest image is newer than %s" % rel(system.iso)
        if stale:
            if script is None:
                warn(stale + ", but no composition script is recorded; booting it as it is")
            else:
                compose_for_run(system, script, stale + "; recomposing", steps=steps)
    return system


def _name_from_composer(script, base):
    """No NAME was given and `[system] name` could not be read from `script`:
    let the composer check the script into a scratch directory (no ISO), so a
    broken script gets the composer's own `file:line:col: error:` line.
    Returns the composer's exit status when it rejects the script; raises
    CosError when it accepts a script whose name we could not read."""
    SYSTEMS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".compose-check-", dir=SYSTEMS_DIR) as tmp:
        argv = [composer_binary(), script, Path(tmp) / "out", "--no-iso",
                "--images", images_dir(), "--kernel", kernel_image()]
        rc = run_command(argv, cwd=base)
    if rc != 0:
        return rc
    raise CosError("cannot read the [system] name of %s; give the system name: "
                   "cos compose %s <name>" % (script, script), status=2)


def cmd_compose(args):
    """`cos compose <script> [<name>]`: resolve the script (a path, or a file in
    composition_scripts/ with or without .toml), default the name to the
    script's `[system] name`, and pass the composer's status through."""
    base = Path.cwd()
    script = resolve_script(args.script, base)
    name = args.name
    if not name:
        name = script_system_name(base / script)
        if name is None:
            buildmod.build()
            return _name_from_composer(script, base)
        check_name(name)
        info("system name '%s' (the [system] name in %s)" % (name, script))
    rc = compose(script, name, overrides=args.set)
    if rc == 0:
        info("composed %s; boot it with: ./cos run %s" % (rel(SYSTEMS_DIR / name), name))
    return rc
